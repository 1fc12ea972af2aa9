"""Market data as the engine sees it: aligned float64 arrays, one row per symbol.

``as_market`` accepts a pandas or polars frame (columns Open/High/Low/Close[/Volume] in any case,
indexed by time or with a ``ts``/``date`` column), a long frame with a ``symbol`` column, or a
``{symbol: frame}`` mapping whose frames share one index.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from quanta.engine.errors import DataError

COLUMNS = ("open", "high", "low", "close", "volume")
_TIME_COLUMNS = ("ts", "timestamp", "datetime", "date", "time")
_SYMBOL_COLUMNS = ("symbol", "ticker")
DEFAULT_SYMBOL = "asset"


@dataclass(frozen=True, slots=True, eq=False)
class Market:
    """OHLCV arrays of shape ``(n_symbols, n_bars)`` on one increasing index.

    ``index`` holds int64 nanoseconds since the epoch (UTC) when ``is_datetime``, else the
    original numeric index values.
    """

    symbols: tuple[str, ...]
    index: np.ndarray
    is_datetime: bool
    tz: str | None
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    @property
    def n_bars(self) -> int:
        """Number of bars."""
        return int(self.index.shape[0])

    def time_at(self, i: int) -> Any:
        """The index value of bar ``i`` as a ``pd.Timestamp`` (or a number)."""
        if not self.is_datetime:
            return self.index[i].item()
        return _timestamp(int(self.index[i]), self.tz)

    def pandas_index(self) -> pd.Index:
        """The index as pandas would show it."""
        return pandas_index(self.index, is_datetime=self.is_datetime, tz=self.tz)

    def digest(self) -> str:
        """sha256 of symbols, index and every OHLCV byte: the data snapshot in a receipt."""
        h = hashlib.sha256()
        header = {"symbols": list(self.symbols), "tz": self.tz, "datetime": self.is_datetime}
        h.update(json.dumps(header, sort_keys=True).encode())
        for arr in (self.index, self.open, self.high, self.low, self.close, self.volume):
            h.update(str(arr.dtype).encode())
            h.update(np.ascontiguousarray(arr).tobytes())
        return h.hexdigest()


def pandas_index(index: np.ndarray, *, is_datetime: bool, tz: str | None) -> pd.Index:
    """``index`` (int64 ns since the epoch, or numbers) as a pandas index in its time zone."""
    if not is_datetime:
        plain: pd.Index = pd.Index(index)
        return plain
    idx = pd.DatetimeIndex(index.view("datetime64[ns]"))
    return pd.DatetimeIndex(idx.tz_localize("UTC").tz_convert(tz)) if tz else idx


def _timestamp(ns: int, tz: str | None) -> pd.Timestamp:
    ts = pd.Timestamp(ns)
    return ts.tz_localize("UTC").tz_convert(tz) if tz else ts


def as_market(data: object) -> Market:
    """Validate and convert user data to a ``Market`` (see module docstring for accepted shapes)."""
    if isinstance(data, Market):
        return data
    if isinstance(data, Mapping):
        frames = {str(k): _to_pandas(v) for k, v in data.items()}
    else:
        frames = _split_symbols(_to_pandas(data))
    if not frames:
        raise DataError("no symbols given")
    parts = {sym: _one_symbol(sym, frame) for sym, frame in frames.items()}
    first_sym, (index, is_dt, tz, _) = next(iter(parts.items()))
    for sym, (idx, _, other_tz, _) in parts.items():
        if other_tz != tz or idx.shape != index.shape or not np.array_equal(idx, index):
            msg = (
                f"symbols {first_sym!r} and {sym!r} have different timestamps; align them on one index "
                "first (e.g. an inner join on ts)"
            )
            raise DataError(msg)
    stacked = {c: np.ascontiguousarray(np.stack([p[3][c] for p in parts.values()])) for c in COLUMNS}
    return Market(symbols=tuple(parts), index=index, is_datetime=is_dt, tz=tz, **stacked)


def _to_pandas(data: object) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    to_pandas = getattr(data, "to_pandas", None)
    if callable(to_pandas):
        frame = to_pandas()
        if isinstance(frame, pd.DataFrame):
            return frame
    raise DataError(
        f"expected a pandas/polars DataFrame or a {{symbol: frame}} mapping, got {type(data).__name__}"
    )


def _find(frame: pd.DataFrame, names: tuple[str, ...]) -> Any:
    lower = {str(c).lower(): c for c in frame.columns}
    return next((lower[n] for n in names if n in lower), None)


def _split_symbols(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    col = _find(frame, _SYMBOL_COLUMNS)
    if col is None:
        return {DEFAULT_SYMBOL: frame}
    return {str(sym): part for sym, part in frame.groupby(col, sort=True)}


def _one_symbol(sym: str, frame: pd.DataFrame) -> tuple[np.ndarray, bool, str | None, dict[str, np.ndarray]]:
    if len(frame) == 0:
        raise DataError(f"{sym}: the data range is empty (no bars)")
    index = _index_of(frame)
    values, is_dt, tz = _index_values(sym, index)
    arrays: dict[str, np.ndarray] = {}
    for name in COLUMNS:
        col = _find(frame, (name,))
        if col is None:
            if name == "volume":
                arrays[name] = np.full(len(frame), np.nan)
                continue
            raise DataError(f"{sym}: missing column {name!r}; have {list(frame.columns)}")
        try:
            arrays[name] = np.asarray(frame[col], dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(f"{sym}: column {col!r} is not numeric ({exc})") from None
    for name in COLUMNS[:4]:
        bad = ~np.isfinite(arrays[name])
        if bad.any():
            at = index[int(np.argmax(bad))]
            msg = (
                f"{sym}: {name} price is NaN or infinite at {at} ({int(bad.sum())} bars); "
                "drop or fill those rows first"
            )
            raise DataError(msg)
    return values, is_dt, tz, arrays


def _index_of(frame: pd.DataFrame) -> pd.Index:
    col = _find(frame, _TIME_COLUMNS)
    if col is not None and not isinstance(frame.index, pd.DatetimeIndex):
        return pd.DatetimeIndex(pd.to_datetime(frame[col]))
    index = frame.index
    if index.dtype == object:
        try:
            return pd.DatetimeIndex(pd.to_datetime(index))
        except (TypeError, ValueError):
            raise DataError("index is neither datetime nor numeric") from None
    return index


def _index_values(sym: str, index: pd.Index) -> tuple[np.ndarray, bool, str | None]:
    if isinstance(index, pd.DatetimeIndex):
        tz = str(index.tz) if index.tz is not None else None
        values = np.asarray(index.as_unit("ns").asi8, dtype=np.int64)
        is_dt = True
    else:
        tz, is_dt = None, False
        values = np.asarray(index)
        if values.dtype.kind not in "iuf":
            raise DataError(f"{sym}: index must be datetime or numeric, got {values.dtype}")
    if values.shape[0] > 1 and not bool(np.all(values[1:] > values[:-1])):
        pos = int(np.argmin(values[1:] > values[:-1])) + 1
        msg = (
            f"{sym}: index must be strictly increasing; row {pos} ({index[pos]}) is not after the one before "
            "(sort it and drop duplicate timestamps)"
        )
        raise DataError(msg)
    return values, is_dt, tz
