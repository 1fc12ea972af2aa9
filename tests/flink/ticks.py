"""Tick records for the Flink tests, and the bars and dead letters quanta.streaming makes of them.

The stream is built so that Flink's watermark (one per partition, over all symbols) and the in-process
aggregator's (one per symbol) agree on every tick: the symbols advance together, in rounds that share
a timestamp, and every out-of-order or late tick is far from the boundary where the two could differ.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from quanta import indicators as batch
from quanta.streaming import (
    Bar,
    BarConfig,
    BarPipeline,
    DeadLetter,
    MalformedEventError,
    Tick,
    decode_tick,
    encode_tick,
    interval_ms,
)

SYMBOLS = ("AAPL", "GOOG", "MSFT")
# A whole minute an hour ago: the bars' record times are their window starts, and the broker's 24-hour
# retention deletes records whose time is older (a segment rolled with 2023 times goes at the next check).
ORIGIN_MS = (int(time.time()) // 60 - 60) * 60_000
STEP_MS = 20  # one round of ticks (one per symbol) every 20 ms of event time
CONFIG = BarConfig(intervals=("1s", "1m"), out_of_orderness_ms=500, allowed_lateness_ms=2000, indicators=())

# Records that quanta.streaming.schema.decode_tick refuses, each with the key it is sent with.
MALFORMED: tuple[tuple[str | None, bytes], ...] = (
    ("AAPL", b"not json{"),
    ("AAPL", b"[1, 2]"),
    (None, b'{"v":1,"s":"AAPL","t":1700000041000,"p":1.5,"q":1.0,"n":1} trailing'),
    ("AAPL", b'{"v":2,"s":"AAPL","t":1700000041000,"p":1.5,"q":1.0,"n":1}'),
    ("AAPL", b'{"v":"1","s":"AAPL","t":1700000041000,"p":1.5,"q":1.0,"n":1}'),
    ("AAPL", b'{"s":"AAPL","t":1700000041000,"p":1.5,"q":1.0,"n":1}'),
    ("AAPL", b'{"v":1,"s":"AA PL","t":1700000041000,"p":1.5,"q":1.0,"n":1}'),
    ("AAPL", b'{"v":1,"s":7,"t":1700000041000,"p":1.5,"q":1.0,"n":1}'),
    ("AAPL", b'{"v":1,"s":"AAPL","t":1700000041000.0,"p":1.5,"q":1.0,"n":1}'),
    ("AAPL", b'{"v":1,"s":"AAPL","t":"1700000041000","p":1.5,"q":1.0,"n":1}'),
    ("AAPL", b'{"v":1,"s":"AAPL","t":1700000041000,"p":0,"q":1.0,"n":1}'),
    ("AAPL", b'{"v":1,"s":"AAPL","t":1700000041000,"p":true,"q":1.0,"n":1}'),
    ("AAPL", b'{"v":1,"s":"AAPL","t":1700000041000,"p":1e400,"q":1.0,"n":1}'),
    ("AAPL", b'{"v":1,"s":"AAPL","t":1700000041000,"p":1.5,"q":-1,"n":1}'),
    ("AAPL", b'{"v":1,"s":"AAPL","t":1700000041000,"p":1.5,"q":1.0,"n":-1}'),
    # A future event time on an otherwise bad record must not move the watermark.
    ("GOOG", b'{"v":1,"s":"GOOG","t":4102444800000,"p":-5,"q":1.0,"n":1}'),
)


def loose(tick: Tick) -> bytes:
    """A good tick record in another form than ``encode_tick``'s: other key order, spaces."""
    record = {"n": tick.seq, "s": tick.symbol, "q": tick.size, "t": tick.ts, "p": tick.price, "v": 1}
    return json.dumps(record).encode()


@dataclass(frozen=True)
class Record:
    """One Kafka record of the tick topic."""

    key: str | None
    value: bytes


def tick_records(*, seconds: int = 75, seed: int = 7) -> list[Record]:
    """Ticks of :data:`SYMBOLS` over ``seconds`` of event time, with disorder, late ticks and bad records.

    - most ticks are in order; one in ten is up to 300 ms behind (within the 500 ms out-of-orderness);
    - one in a hundred is 1.2-1.6 s behind: its 1s window has fired and takes it as an update;
    - one in two hundred is 8-30 s behind: too late for its 1s window (a dead letter), and sometimes
      for its 1m window too;
    - the records of :data:`MALFORMED` are spread through the stream;
    - every 500th round is written as another writer might (:func:`loose`): good ticks, not in
      ``encode_tick``'s exact form (the Flink job's fast path takes only that form);
    - last, one tick per symbol ten minutes on closes every earlier window.
    """
    rng = random.Random(seed)
    seq = dict.fromkeys(SYMBOLS, 0)
    price = {symbol: 100.0 + 10 * index for index, symbol in enumerate(SYMBOLS)}
    records: list[Record] = []
    rounds = seconds * 1000 // STEP_MS
    bad_at = {rounds * (i + 1) // (len(MALFORMED) + 1): item for i, item in enumerate(MALFORMED)}
    for k in range(rounds):
        now = ORIGIN_MS + k * STEP_MS
        for symbol in SYMBOLS:
            roll = rng.random()
            if roll < 0.005 and k > 2000:
                ts = now - rng.randint(8_000, 30_000)
            elif roll < 0.015 and k > 100:
                ts = now - rng.randint(1_200, 1_600)
            elif roll < 0.115:
                ts = now - rng.randint(1, 300)
            else:
                ts = now
            seq[symbol] += 1
            price[symbol] = round(max(1.0, price[symbol] * (1 + rng.gauss(0, 0.0005))), 4)
            size = float(rng.randint(1, 500))
            tick = Tick(symbol=symbol, ts=ts, price=price[symbol], size=size, seq=seq[symbol])
            records.append(Record(symbol, loose(tick) if k % 500 == 250 else encode_tick(tick)))
        if k in bad_at:
            key, value = bad_at[k]
            records.append(Record(key, value))
    end = ORIGIN_MS + rounds * STEP_MS + 600_000
    for symbol in SYMBOLS:
        seq[symbol] += 1
        tick = Tick(symbol=symbol, ts=end, price=price[symbol], size=1.0, seq=seq[symbol])
        records.append(Record(symbol, encode_tick(tick)))
    return records


@dataclass(frozen=True)
class Expected:
    """What quanta.streaming makes of the records: final bars by interval, and the dead letters."""

    bars: dict[str, dict[tuple[str, str, int], Bar]]
    dead_letters: list[DeadLetter]


def in_process(records: Iterable[Record], config: BarConfig = CONFIG) -> Expected:
    """Run the records through :class:`BarPipeline`; keep each closed window's last revision.

    A window is closed once the symbol's watermark passed its end by the allowed lateness: the
    closing ticks at the end make every window but their own closed.
    """
    pipeline = BarPipeline(config)
    last: dict[tuple[str, str, int], Bar] = {}
    dead: list[DeadLetter] = []
    max_ts: dict[str, int] = {}
    for record in records:
        for out in pipeline.process_record(record.value, record.key):
            if isinstance(out, Bar):
                last[out.key] = out
            else:
                dead.append(out)
        try:
            tick = decode_tick(record.value)
        except MalformedEventError:
            continue
        max_ts[tick.symbol] = max(tick.ts, max_ts.get(tick.symbol, tick.ts))
    bars: dict[str, dict[tuple[str, str, int], Bar]] = {interval: {} for interval in config.intervals}
    for key, bar in last.items():
        watermark = max_ts[bar.symbol] - config.out_of_orderness_ms - 1
        end = bar.start + interval_ms(bar.interval)
        if end - 1 + config.allowed_lateness_ms <= watermark:
            bars[bar.interval][key] = bar
    return Expected(bars=bars, dead_letters=dead)


Indicated = dict[tuple[str, int], dict[str, float | None]]


def batch_indicators(bars: Iterable[Bar], specs: Iterable[str]) -> Indicated:
    """``quanta.indicators`` (batch, numpy) on each symbol's closes in window order, by (symbol, start);
    NaN (warm-up) as None, as the bars carry it."""
    by_symbol: dict[str, list[Bar]] = {}
    for bar in sorted(bars, key=lambda b: (b.symbol, b.start)):
        by_symbol.setdefault(bar.symbol, []).append(bar)
    out: Indicated = {}
    for symbol, series in by_symbol.items():
        closes = np.array([bar.close for bar in series])
        columns = {}
        for spec in specs:
            name, period = spec.split(":")
            columns[f"{name.lower()}_{period}"] = getattr(batch, name)(closes, timeperiod=int(period))
        for index, bar in enumerate(series):
            out[symbol, bar.start] = {key: _json(values[index]) for key, values in columns.items()}
    return out


def _json(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def comparable(bar: Bar) -> tuple[object, ...]:
    """A bar without its revision and indicators (the Flink job emits each window once, without them)."""
    return (
        bar.symbol,
        bar.interval,
        bar.start,
        bar.open,
        bar.high,
        bar.low,
        bar.close,
        bar.volume,
        bar.ticks,
    )
