"""Seeded synthetic market data: regime-switching geometric Brownian motion bars, and tick paths.

Bars: a Markov chain switches between four regimes (calm/volatile × up/down drift) with geometric
holding times; within a regime the log price follows GBM. Each bar opens at the previous close times
a small gap, closes after a GBM step, and gets wicks beyond both, so ``low ≤ min(open, close) ≤
max(open, close) ≤ high`` and prices stay positive by construction.

Every random stream (regimes, returns, wicks, volume) comes from its own child of
``SeedSequence(seed)`` and draws a fixed number of values per bar, so the data depend on ``seed``
only — not on ``chunk_size`` — and any number of bars streams through constant memory.

``freq`` is ``<n>D`` (business days, Monday–Friday) or ``<n>h``/``<n>min``/``<n>s`` (round the clock).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
from ibis.backends import BaseBackend  # type: ignore[import-untyped]

import quanta
from quanta.data import _store
from quanta.data.errors import DataValidationError
from quanta.data.importer import check_new_symbol
from quanta.data.schema import BARS_ARROW

DEFAULT_START = datetime(2000, 1, 3)  # a Monday
LAST_TIMESTAMP = datetime(2262, 4, 11)  # pandas' nanosecond limit: keep the data usable everywhere
_FREQ = re.compile(r"^(\d+)(D|h|min|s)$")
_SECONDS = {"h": 3600, "min": 60, "s": 1}
_TRADING_DAYS_PER_YEAR = 252
_SECONDS_PER_YEAR = 365.25 * 86400


@dataclass(frozen=True)
class Regime:
    """Annualised drift and volatility, and the mean number of bars the regime lasts."""

    name: str
    drift: float
    volatility: float
    mean_bars: float


REGIMES = (
    Regime("calm up", drift=0.12, volatility=0.12, mean_bars=250),
    Regime("calm down", drift=-0.04, volatility=0.16, mean_bars=120),
    Regime("volatile up", drift=0.25, volatility=0.32, mean_bars=60),
    Regime("volatile down", drift=-0.35, volatility=0.45, mean_bars=40),
)


@dataclass(frozen=True)
class Frequency:
    """A bar spacing: ``unit`` "D" counts business days, others count seconds."""

    count: int
    unit: str

    @classmethod
    def parse(cls, text: str) -> Frequency:
        """Read ``"1D"``, ``"5min"``, ``"1h"``, ``"30s"``."""
        match = _FREQ.match(text)
        if not match or int(match[1]) == 0:
            msg = f"unknown bar frequency {text!r}; use e.g. 1D (business days), 1h, 5min or 30s"
            raise ValueError(msg)
        return cls(int(match[1]), match[2])

    @property
    def years(self) -> float:
        """One bar's length in years, for scaling drift and volatility."""
        if self.unit == "D":
            return self.count / _TRADING_DAYS_PER_YEAR
        return self.count * _SECONDS[self.unit] / _SECONDS_PER_YEAR

    def timestamps(self, start: datetime, first: int, count: int) -> np.ndarray[Any, Any]:
        """Timestamps (datetime64[us]) of bars ``first .. first + count - 1``."""
        index = np.arange(first, first + count, dtype=np.int64) * self.count
        if self.unit == "D":
            day = np.datetime64(start.date(), "D")
            days = np.busday_offset(day, index, roll="forward")
            return days.astype("datetime64[us]") + np.timedelta64(_time_of_day(start), "us")
        return np.datetime64(start, "us") + index * np.timedelta64(_SECONDS[self.unit] * 1_000_000, "us")


def _time_of_day(moment: datetime) -> int:
    return int((moment - datetime.combine(moment.date(), datetime.min.time())) / timedelta(microseconds=1))


class _RegimeChain:
    """The Markov regime path, drawn segment by segment so chunking never changes it."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._state = 0
        self._left = self._duration(0)

    def _duration(self, state: int) -> int:
        return int(self._rng.geometric(1.0 / REGIMES[state].mean_bars))

    def take(self, count: int) -> np.ndarray[Any, Any]:
        """Regime indices of the next ``count`` bars."""
        out = np.empty(count, dtype=np.int64)
        filled = 0
        while filled < count:
            if self._left == 0:
                others = [i for i in range(len(REGIMES)) if i != self._state]
                self._state = others[int(self._rng.integers(len(others)))]
                self._left = self._duration(self._state)
            step = min(self._left, count - filled)
            out[filled : filled + step] = self._state
            filled += step
            self._left -= step
        return out


def synthetic_bars(
    n: int,
    *,
    seed: int,
    start: datetime = DEFAULT_START,
    freq: str = "1D",
    symbol: str = "SYN",
    start_price: float = 100.0,
    chunk_size: int = 100_000,
) -> Iterator[pa.Table]:
    """``n`` synthetic OHLCV bars as Arrow tables of at most ``chunk_size`` rows (bars schema)."""
    frequency = _checked(n, start, freq, start_price, chunk_size)
    regime_rng, return_rng, wick_rng, volume_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(4)
    )
    chain = _RegimeChain(regime_rng)
    drift = np.array([r.drift for r in REGIMES])
    vol = np.array([r.volatility for r in REGIMES])
    last_log_close = float(np.log(start_price))
    for first in range(0, n, chunk_size):
        count = min(chunk_size, n - first)
        regime = chain.take(count)
        sigma = vol[regime] * np.sqrt(frequency.years)
        shocks = return_rng.standard_normal((count, 2))
        gap = 0.2 * sigma * shocks[:, 0]
        body = (drift[regime] - vol[regime] ** 2 / 2) * frequency.years + sigma * shocks[:, 1]
        # Accumulate from the previous close so chunk boundaries never change the rounding.
        log_close = np.cumsum(np.concatenate(([last_log_close], gap + body)))[1:]
        log_open = log_close - body
        last_log_close = float(log_close[-1])
        wicks = 0.5 * sigma[:, None] * wick_rng.standard_exponential((count, 2))
        open_, close = np.exp(log_open), np.exp(log_close)
        high = np.maximum(open_, close) * np.exp(wicks[:, 0])
        low = np.minimum(open_, close) * np.exp(-wicks[:, 1])
        volume = np.floor(1e6 * (vol[regime] / vol[0]) * np.exp(0.3 * volume_rng.standard_normal(count)))
        columns = {
            "symbol": pa.array(np.full(count, symbol), pa.string()),
            "ts": pa.array(frequency.timestamps(start, first, count)),
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
            "adj_close": pa.nulls(count, pa.float64()),
        }
        yield pa.table(columns, schema=BARS_ARROW)


def _checked(n: int, start: datetime, freq: str, start_price: float, chunk_size: int) -> Frequency:
    frequency = Frequency.parse(freq)
    if n < 0 or chunk_size <= 0 or not start_price > 0:
        msg = "n must be ≥ 0, chunk_size > 0 and start_price > 0"
        raise ValueError(msg)
    if n and frequency.timestamps(start, n - 1, 1)[0] > np.datetime64(LAST_TIMESTAMP, "us"):
        end = f"would end after {LAST_TIMESTAMP:%Y}; use a shorter freq"
        msg = f"{n} bars of {freq} from {start:%Y-%m-%d} {end}"
        raise ValueError(msg)
    return frequency


def store_synthetic(
    con: BaseBackend,
    *,
    symbol: str,
    n: int,
    seed: int,
    start: datetime = DEFAULT_START,
    freq: str = "1D",
    chunk_size: int = 100_000,
    replace: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Generate ``n`` bars for ``symbol`` and store them chunk by chunk; returns the bar count.

    Memory stays flat however large ``n`` is: each chunk commits on its own and the symbol appears
    (in ``instruments``) only once all its bars are written; on failure the partial bars are removed.
    ``progress(bars_written, n)`` is called after each chunk. An existing symbol is only replaced when
    ``replace`` is true (its old bars are gone once writing starts).
    """
    check_new_symbol(con, symbol, replace=replace)

    def chunks() -> Iterator[pa.Table]:
        written = 0
        for chunk in synthetic_bars(
            n, seed=seed, start=start, freq=freq, symbol=symbol, chunk_size=chunk_size
        ):
            yield chunk
            written += chunk.num_rows
            if progress:
                progress(written, n)

    instrument = {
        "symbol": symbol,
        "name": f"Synthetic {symbol} (seed {seed})",
        "asset_class": "synthetic",
        "source_package": "quanta.synthetic",
        "source_version": quanta.__version__,
        "source_license": "Apache-2.0",
        "source_note": f"regime-switching GBM: seed={seed}, freq={freq}, start={start.isoformat()}, n={n}",
    }
    counts = _store.store(con, instruments=[instrument], bar_chunks=chunks(), atomic=False)
    if not counts:
        msg = "n must be at least 1 to store a synthetic symbol"
        raise DataValidationError(msg)
    return counts[symbol]


def synthetic_ticks(
    bars: pa.Table,
    *,
    seed: int,
    ticks_per_bar: int = 16,
    bar_duration: timedelta | None = None,
    chunk_bars: int = 10_000,
) -> Iterator[pa.Table]:
    """Tick paths inside each bar (columns ``symbol, ts, price, size``), ``chunk_bars`` bars at a time.

    Each path starts at the open, touches the low and the high (low first on an up bar, high first on
    a down bar), ends at the close and never leaves ``[low, high]``; between those anchors it is a
    Brownian bridge. Ticks are evenly spaced over ``bar_duration`` (default: the smallest gap between
    bars, or one day) and their sizes add up to the bar's volume. Same bars and seed, same ticks.
    """
    if ticks_per_bar < 4:
        msg = "ticks_per_bar must be at least 4 (open, high, low, close)"
        raise ValueError(msg)
    duration = bar_duration or _smallest_gap(bars)
    noise_rng, anchor_rng, size_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)
    )
    for offset in range(0, bars.num_rows, chunk_bars):
        chunk = bars.slice(offset, chunk_bars)
        yield _ticks(chunk, ticks_per_bar, duration, (noise_rng, anchor_rng, size_rng))


def _smallest_gap(bars: pa.Table) -> timedelta:
    ts = bars.column("ts").to_numpy().astype("datetime64[us]")
    gaps = np.diff(ts)
    positive = gaps[gaps > np.timedelta64(0, "us")]
    if positive.size == 0:
        return timedelta(days=1)
    return timedelta(microseconds=int(positive.min() / np.timedelta64(1, "us")))


def _ticks(bars: pa.Table, n: int, duration: timedelta, rngs: tuple[np.random.Generator, ...]) -> pa.Table:
    noise_rng, anchor_rng, size_rng = rngs
    k = bars.num_rows
    o, h, low, c, volume = (
        bars.column(name).to_numpy().astype(float) for name in ("open", "high", "low", "close", "volume")
    )
    up = c >= o
    u = anchor_rng.random((k, 2))
    p1 = 1 + np.floor(u[:, 0] * (n - 3)).astype(np.int64)
    p2 = p1 + 1 + np.floor(u[:, 1] * (n - 2 - p1)).astype(np.int64)
    anchors_at = np.stack([np.zeros(k, np.int64), p1, p2, np.full(k, n - 1)], axis=1)
    anchors = np.stack([o, np.where(up, low, h), np.where(up, h, low), c], axis=1)
    price = _bridge(anchors_at, anchors, n, noise_rng.standard_normal((k, n)), (h - low) / np.sqrt(n))
    price = np.clip(price, low[:, None], h[:, None])
    np.put_along_axis(price, anchors_at, anchors, axis=1)
    weights = size_rng.standard_exponential((k, n))
    size = np.floor(volume[:, None] * weights / weights.sum(axis=1, keepdims=True))
    size[:, -1] += volume - size.sum(axis=1)
    step = np.timedelta64(int(duration / timedelta(microseconds=1)) // n, "us")
    bar_ts = bars.column("ts").to_numpy().astype("datetime64[us]")
    ts = bar_ts[:, None] + np.arange(n) * step
    symbols = np.repeat(bars.column("symbol").to_numpy(zero_copy_only=False), n)
    return pa.table(
        {
            "symbol": pa.array(symbols, pa.string()),
            "ts": ts.ravel(),
            "price": price.ravel(),
            "size": size.ravel(),
        }
    )


def _bridge(
    anchors_at: np.ndarray[Any, Any],
    anchors: np.ndarray[Any, Any],
    n: int,
    shocks: np.ndarray[Any, Any],
    scale: np.ndarray[Any, Any],
) -> np.ndarray[Any, Any]:
    """Straight lines between the anchors plus a Brownian bridge that is zero at every anchor."""
    j = np.arange(n)[None, :]
    segment = (j > anchors_at[:, 1:2]).astype(np.int64) + (j > anchors_at[:, 2:3])
    start_at = np.take_along_axis(anchors_at, segment, axis=1)
    end_at = np.take_along_axis(anchors_at, segment + 1, axis=1)
    frac = (j - start_at) / np.maximum(end_at - start_at, 1)
    start_value = np.take_along_axis(anchors, segment, axis=1)
    end_value = np.take_along_axis(anchors, segment + 1, axis=1)
    walk = np.cumsum(shocks, axis=1)
    w_start, w_end = np.take_along_axis(walk, start_at, axis=1), np.take_along_axis(walk, end_at, axis=1)
    bridge = walk - w_start - frac * (w_end - w_start)
    path: np.ndarray[Any, Any] = (
        start_value + frac * (end_value - start_value) + 0.25 * scale[:, None] * bridge
    )
    return path
