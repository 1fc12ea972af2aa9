"""Historical bars replayed as intrabar ticks on a virtual clock: seeded, deterministic, any speed.

Each bar becomes ``ticks_per_bar`` ticks whose path starts at the open, visits the low then the
high on an up bar (close ≥ open) or the high then the low on a down bar, and ends at the close,
never leaving ``[low, high]``; the sizes add up to the bar's volume (the paths are
:func:`quanta.data.synthetic_ticks`' Brownian bridges). The same bars and seed give the same ticks.

Time: trading day ``d`` (the ``d``-th date in the union of the symbols' calendars) spans
``[origin_ms + d P, origin_ms + (d + 1) P)`` with ``P = round(1000 / speed)`` ms — ``speed`` is in
trading days per second — and tick ``i`` of the day sits at ``origin_ms + d P + i P // n``. At
``speed=1`` with ``origin_ms`` on a whole second, every 1-second bar built from the ticks is the
historical daily bar again.
"""

from __future__ import annotations

import heapq
import zlib
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from quanta.streaming.events import Tick

if TYPE_CHECKING:
    from ibis.backends import BaseBackend  # type: ignore[import-untyped]

DEFAULT_TICKS_PER_BAR = 16
_CHUNK_BARS = 2048


def day_ms(speed: float) -> int:
    """Milliseconds of event time per trading day at ``speed`` trading days per second."""
    if not speed > 0:
        msg = f"speed must be > 0 trading days per second, got {speed}"
        raise ValueError(msg)
    ms = round(1000 / speed)
    if ms < 1:
        msg = f"speed {speed} is too fast: at most 1000 trading days per second"
        raise ValueError(msg)
    return ms


def replay_ticks(
    bars: pa.Table,
    *,
    seed: int,
    origin_ms: int,
    speed: float = 1.0,
    ticks_per_bar: int = DEFAULT_TICKS_PER_BAR,
) -> Iterator[Tick]:
    """The ticks of ``bars`` (bars schema, any number of symbols) in event-time order.

    Ties in time go by symbol (sorted), then by each symbol's sequence number.
    """
    period = day_ms(speed)
    if ticks_per_bar < 4:
        msg = "ticks_per_bar must be at least 4 (open, high, low, close)"
        raise ValueError(msg)
    calendar = np.unique(bars.column("ts").to_numpy().astype("datetime64[us]"))
    names = sorted(set(bars.column("symbol").to_pylist()))
    streams = [
        _symbol_ticks(_of_symbol(bars, name), index, calendar, seed, origin_ms, period, ticks_per_bar)
        for index, name in enumerate(names)
    ]
    for _, _, _, tick in heapq.merge(*streams):
        yield tick


def load_bars(con: BaseBackend, symbols: Sequence[str], *, start: Any = None, end: Any = None) -> pa.Table:
    """The stored daily bars of ``symbols`` in ``[start, end]``, one table (bars schema)."""
    from quanta.data import bars as stored_bars  # noqa: PLC0415 - the market store only when asked for

    tables = [stored_bars(con, symbol, start, end, timeframe=None).to_pyarrow() for symbol in symbols]
    return pa.concat_tables(tables)


def symbol_seed(seed: int, symbol: str) -> int:
    """A per-symbol seed, so adding a symbol never changes another one's ticks."""
    state = np.random.SeedSequence([seed, zlib.crc32(symbol.encode())]).generate_state(2)
    return int(state[0]) << 32 | int(state[1])


def _of_symbol(bars: pa.Table, symbol: str) -> pa.Table:
    table = bars.filter(pc.equal(bars.column("symbol"), symbol))
    return table.sort_by("ts")


def _symbol_ticks(  # noqa: PLR0917 - a private helper of replay_ticks
    bars: pa.Table,
    index: int,
    calendar: np.ndarray[Any, Any],
    seed: int,
    origin_ms: int,
    period: int,
    n: int,
) -> Iterator[tuple[int, int, int, Tick]]:
    """One symbol's ticks as ``(ts, symbol index, seq, tick)``, ready for a heap merge."""
    from quanta.data.synthetic import synthetic_ticks  # noqa: PLC0415 - keeps `import quanta.streaming` light

    symbol = str(bars.column("symbol")[0]) if bars.num_rows else ""
    days = np.searchsorted(calendar, bars.column("ts").to_numpy().astype("datetime64[us]"))
    offsets = (np.arange(n, dtype=np.int64) * period) // n
    seq = 0
    chunks = synthetic_ticks(
        bars,
        seed=symbol_seed(seed, symbol),
        ticks_per_bar=n,
        bar_duration=timedelta(days=1),
        chunk_bars=_CHUNK_BARS,
    )
    for first, chunk in zip(range(0, bars.num_rows, _CHUNK_BARS), chunks, strict=True):
        chunk_days = days[first : first + _CHUNK_BARS]
        ts = (origin_ms + chunk_days[:, None] * period + offsets[None, :]).ravel().tolist()
        prices = chunk.column("price").to_numpy().tolist()
        sizes = chunk.column("size").to_numpy().tolist()
        for t, price, size in zip(ts, prices, sizes, strict=True):
            yield t, index, seq, Tick(symbol, t, price, size, seq)
            seq += 1
