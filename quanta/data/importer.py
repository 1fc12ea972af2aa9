"""Import a user's OHLCV file (CSV, gzipped CSV or Parquet) as one symbol, all or nothing.

Columns are matched case-insensitively, ignoring spaces, ``_`` and ``-``: a timestamp (``date``,
``timestamp``, ``ts`` or ``datetime``), ``open``, ``high``, ``low``, ``close``, ``volume`` and
optionally ``adj close``; other columns are ignored. Text timestamps are ISO 8601 (an offset is
converted to UTC), ``YYYYMMDD``, US ``MM/DD/YYYY`` or, when that does not fit, ``DD/MM/YYYY``.

The whole file is validated before anything is written; any problem raises ``DataValidationError``
naming the first few rows (1-based, header not counted) and rules, and the store is left untouched.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl
from ibis.backends import BaseBackend  # type: ignore[import-untyped]

from quanta.data import _store
from quanta.data.errors import DataValidationError
from quanta.data.schema import BAR_COLUMNS, INSTRUMENTS
from quanta.data.validation import (
    MAX_REPORTED,
    PRICE_COLUMNS,
    REQUIRED_COLUMNS,
    VALUE_RULES,
    Problem,
    problems,
)

SYMBOL_PATTERN = re.compile(r"^[A-Za-z0-9^][A-Za-z0-9.^=_-]{0,31}$")

_ALIASES = {
    "ts": ("date", "timestamp", "ts", "datetime"),
    **{c: (c,) for c in PRICE_COLUMNS},
    "volume": ("volume", "vol"),
    "adj_close": ("adjclose", "adjustedclose"),
}

_TIMESTAMP_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y%m%d",
    "%m/%d/%Y",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%d/%m/%Y",
    "%d.%m.%Y",
)


@dataclass(frozen=True, kw_only=True)
class ImportReport:
    """What an import stored."""

    symbol: str
    rows: int
    first_ts: datetime
    last_ts: datetime
    source: str


def import_file(
    con: BaseBackend,
    path: str | Path,
    *,
    symbol: str,
    name: str | None = None,
    asset_class: str = "equity",
    currency: str | None = None,
    replace: bool = False,
) -> ImportReport:
    """Validate and store a CSV or Parquet file as ``symbol`` (see the module docstring)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        msg = f"cannot read {path}: {exc.strerror or exc}"
        raise DataValidationError(msg) from exc
    return import_bytes(
        con,
        data,
        path.name,
        symbol=symbol,
        name=name,
        asset_class=asset_class,
        currency=currency,
        replace=replace,
    )


def import_bytes(
    con: BaseBackend,
    data: bytes,
    filename: str,
    *,
    symbol: str,
    name: str | None = None,
    asset_class: str = "equity",
    currency: str | None = None,
    replace: bool = False,
) -> ImportReport:
    """Validate and store uploaded file content; ``filename``'s suffix tells the format."""
    filename = Path(filename).name
    check_new_symbol(con, symbol, replace=replace)
    frame = parse_bars(data, filename, symbol=symbol)
    instrument = {
        "symbol": symbol,
        "name": name or symbol,
        "asset_class": asset_class,
        "currency": currency,
        "source_package": f"upload:{filename}",
        "source_note": f"{frame.height} rows imported from {filename}",
    }
    _store.store(con, instruments=[instrument], bar_chunks=[frame.to_arrow()], replace={symbol})
    return ImportReport(
        symbol=symbol,
        rows=frame.height,
        first_ts=frame["ts"][0],
        last_ts=frame["ts"][-1],
        source=f"upload:{filename}",
    )


def check_new_symbol(con: BaseBackend, symbol: str, *, replace: bool) -> None:
    """Reject unsafe symbols, and existing ones unless ``replace``."""
    if not SYMBOL_PATTERN.match(symbol):
        msg = (
            f"symbol {symbol!r} is not allowed: use 1-32 letters, digits or . _ - ^ = "
            "(starting with a letter, digit or ^)"
        )
        raise DataValidationError(msg)
    t = con.table(INSTRUMENTS)
    owners = t.filter(t.symbol == symbol).source_package.execute()
    if len(owners) and not replace:
        msg = (
            f"symbol {symbol!r} already exists (from {owners.iloc[0]}); "
            "choose another symbol or replace it (--replace)"
        )
        raise DataValidationError(msg)


def parse_bars(data: bytes, filename: str, *, symbol: str) -> pl.DataFrame:
    """The file's bars in the stored columns, in file order; raises ``DataValidationError``."""
    raw = _read(data, filename)
    columns = _match_columns(raw.columns, filename)
    if raw.height == 0:
        msg = f"{filename}: no data rows"
        raise DataValidationError(msg)
    parsed, unparsed, unparsed_total = _parse(raw, columns)
    frame = parsed.with_columns(symbol=pl.lit(symbol)).select(BAR_COLUMNS)
    broken, broken_total = problems(frame, VALUE_RULES)  # rules skip the cells that did not parse
    found = sorted([*unparsed, *broken], key=lambda p: p.row)[:MAX_REPORTED]
    if found:
        total = unparsed_total + broken_total
        more = f"\n  … and {total - len(found)} more" if total > len(found) else ""
        lines = "\n  ".join(str(p) for p in found)
        noun = "problem" if total == 1 else "problems"
        msg = f"{filename}: {total} {noun}, nothing was imported:\n  {lines}{more}"
        raise DataValidationError(msg, [str(p) for p in found])
    return frame


def _read(data: bytes, filename: str) -> pl.DataFrame:
    lower = filename.lower()
    try:
        if lower.endswith((".parquet", ".pq")):
            return pl.read_parquet(io.BytesIO(data))
        if lower.endswith(".gz"):
            data = gzip.decompress(data)
            lower = lower.removesuffix(".gz")
        if lower.endswith((".csv", ".txt")):
            return pl.read_csv(io.BytesIO(data), infer_schema=False)
    except (pl.exceptions.PolarsError, OSError, EOFError, UnicodeDecodeError) as exc:
        msg = f"{filename}: cannot read the file: {exc}"
        raise DataValidationError(msg) from exc
    msg = f"{filename}: unsupported file type; upload a .csv, .csv.gz or .parquet file"
    raise DataValidationError(msg)


def _normalise(column: str) -> str:
    return re.sub(r"[\s_\-]+", "", column.strip().lower())


def _match_columns(names: list[str], filename: str) -> dict[str, str]:
    """``{canonical column: the file's column}``; raises on missing or ambiguous columns."""
    matched: dict[str, str] = {}
    for name in names:
        canonical = next((c for c, aliases in _ALIASES.items() if _normalise(name) in aliases), None)
        if canonical is None:
            continue
        if canonical in matched:
            first = matched[canonical]
            msg = f"{filename}: columns {first!r} and {name!r} both look like {canonical}; keep one"
            raise DataValidationError(msg)
        matched[canonical] = name
    if missing := [c for c in REQUIRED_COLUMNS if c not in matched]:
        wanted = ", ".join("date/timestamp" if c == "ts" else c for c in missing)
        msg = f"{filename}: missing required column(s) {wanted}; found {', '.join(names) or 'none'}"
        raise DataValidationError(msg)
    return matched


def _parse(raw: pl.DataFrame, columns: dict[str, str]) -> tuple[pl.DataFrame, list[Problem], int]:
    """Typed columns, the first few missing or unparsable cells, and how many there are."""
    parsed: dict[str, pl.Series] = {}
    found: list[Problem] = []
    total = 0
    for canonical in ("ts", "open", "high", "low", "close", "volume", "adj_close"):
        if canonical not in columns:
            parsed[canonical] = pl.Series(canonical, [None] * raw.height, dtype=pl.Float64)
            continue
        source = raw[columns[canonical]]
        value = _parse_timestamps(source) if canonical == "ts" else _parse_numbers(source)
        parsed[canonical] = value.alias(canonical)
        label = "timestamp" if canonical == "ts" else canonical
        if canonical != "adj_close":
            missing = source.is_null().arg_true()
            total += len(missing)
            found += [Problem(int(i) + 1, f"{label} is missing") for i in missing.head(MAX_REPORTED)]
        bad = (source.is_not_null() & value.is_null()).arg_true()
        what = "a date/time" if canonical == "ts" else "a number"
        total += len(bad)
        found += [
            Problem(int(i) + 1, f"{label} {source[int(i)]!r} is not {what}") for i in bad.head(MAX_REPORTED)
        ]
    return pl.DataFrame(parsed), found, total


def _parse_numbers(source: pl.Series) -> pl.Series:
    if source.dtype == pl.String:
        return source.str.strip_chars().cast(pl.Float64, strict=False)
    if source.dtype.is_numeric():
        return source.cast(pl.Float64)
    return source.cast(pl.String).cast(pl.Float64, strict=False)


def _parse_timestamps(source: pl.Series) -> pl.Series:
    """Naive UTC datetimes; unparsable cells become null."""
    if source.dtype == pl.Date or isinstance(source.dtype, pl.Datetime):
        return _naive_utc(source)
    text = source.cast(pl.String).str.strip_chars()
    best: pl.Series | None = None
    for candidate in _timestamp_candidates(text):
        if best is None or candidate.null_count() < best.null_count():
            best = candidate
        if best.null_count() == text.null_count():
            break
    assert best is not None
    return best


def _timestamp_candidates(text: pl.Series) -> Iterator[pl.Series]:
    for fmt in _TIMESTAMP_FORMATS:
        yield text.str.to_datetime(fmt, strict=False, time_unit="us")
    with contextlib.suppress(pl.exceptions.PolarsError):  # polars infers ISO 8601 with offsets
        yield _naive_utc(text.str.to_datetime(strict=False, time_unit="us"))


def _naive_utc(values: pl.Series) -> pl.Series:
    dtype = values.dtype
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        values = values.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return values.cast(pl.Datetime("us"))
