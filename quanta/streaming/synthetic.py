"""Synthetic live markets: :func:`quanta.data.synthetic_bars` per symbol, replayed as ticks."""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from datetime import datetime

import pyarrow as pa  # type: ignore[import-untyped]

from quanta.streaming.events import Tick
from quanta.streaming.replay import DEFAULT_TICKS_PER_BAR, replay_ticks, symbol_seed

DEFAULT_DAYS = 20_000  # about 80 years of trading days: five and a half hours at one day per second


DEFAULT_START = datetime(2000, 1, 3)  # a Monday, as quanta.data.synthetic


def synthetic_market_bars(
    symbols: Sequence[str], *, seed: int, days: int = DEFAULT_DAYS, start: datetime = DEFAULT_START
) -> pa.Table:
    """``days`` daily regime-switching bars for each symbol, each with its own seed and start price."""
    from quanta.data.synthetic import synthetic_bars  # noqa: PLC0415 - keeps `import quanta.streaming` light

    tables = [
        pa.concat_tables(
            synthetic_bars(
                days, seed=symbol_seed(seed, symbol), start=start, symbol=symbol, start_price=_price(symbol)
            )
        )
        for symbol in symbols
    ]
    return pa.concat_tables(tables)


def synthetic_ticks_live(
    symbols: Sequence[str],
    *,
    seed: int,
    origin_ms: int,
    speed: float = 1.0,
    ticks_per_bar: int = DEFAULT_TICKS_PER_BAR,
    days: int = DEFAULT_DAYS,
) -> Iterator[Tick]:
    """Ticks of a synthetic market of ``symbols`` on the replay clock (see :mod:`quanta.streaming.replay`)."""
    bars = synthetic_market_bars(symbols, seed=seed, days=days)
    return replay_ticks(bars, seed=seed, origin_ms=origin_ms, speed=speed, ticks_per_bar=ticks_per_bar)


def _price(symbol: str) -> float:
    """A start price between 20 and 500 that depends only on the symbol's name."""
    return 20.0 + zlib.crc32(symbol.encode()) % 481
