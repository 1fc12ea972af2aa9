"""The history sink: the bars a transport carries end up in Parquet once each, at their latest revision,
readable through Ibis/DuckDB — on the embedded bus and on the real broker, across restarts."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

import ibis
import pyarrow as pa
import pytest

from pipelines.history import BarHistory, HistoryWriter, history_table, run_history
from pipelines.kafka import KafkaTransport, ensure_topics
from quanta.streaming import (
    Bar,
    BarConfig,
    BarPipeline,
    EmbeddedMarket,
    TickReplay,
    Topics,
    Transport,
    encode_bar,
    replay_ticks,
)
from tests.streaming.conftest import ORIGIN, bars_of, final_bars

pytestmark = pytest.mark.anyio

CONFIG = BarConfig(intervals=("1s", "1m"), out_of_orderness_ms=200, allowed_lateness_ms=1000)


def as_rows(bars: Iterable[Bar]) -> list[tuple[object, ...]]:
    """Bars as the history keeps them, in its order (interval, symbol, start)."""
    rows = [
        (b.interval, b.symbol, b.start, b.open, b.high, b.low, b.close, b.volume, b.ticks, b.rev,
         *(b.indicators[k] for k in sorted(b.indicators)))
        for b in bars
    ]  # fmt: skip
    return sorted(rows, key=lambda row: (row[0], row[1], row[2]))


def stored_rows(history: BarHistory) -> list[tuple[object, ...]]:
    table = history.read()
    base = ["interval", "symbol", "start", "open", "high", "low", "close", "volume", "ticks", "rev"]
    extra = sorted(set(table.column_names) - {*base, "time"})
    return [tuple(row.values()) for row in table.select([*base, *extra]).to_pylist()]


def revisions(ticks_table: pa.Table) -> list[Bar]:
    """Every bar revision BarPipeline emits for the replayed ticks (first revisions and updates)."""
    pipeline = BarPipeline(CONFIG)
    ticks = list(replay_ticks(ticks_table, seed=3, origin_ms=ORIGIN))
    return bars_of([out for tick in ticks for out in pipeline.process(tick)] + pipeline.flush())


async def until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


def test_an_upsert_keeps_the_highest_revision_of_each_window_once(tmp_path: Path) -> None:
    history = BarHistory(tmp_path)
    first = Bar("GOOG", "1s", ORIGIN, 1.0, 2.0, 0.5, 1.5, 10.0, 3, rev=0, indicators={"sma_2": None})
    second = dataclasses.replace(first, close=1.75, rev=1, indicators={"sma_2": 1.6})
    next_day = dataclasses.replace(first, start=ORIGIN + 86_400_000)

    history.write([first, next_day])
    history.write([second])
    history.write([first, second, next_day])  # delivered again after a crash: nothing changes
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.parquet"))

    assert stored_rows(history) == as_rows([second, next_day])
    assert files == ["1s/2023-11-14/GOOG.parquet", "1s/2023-11-15/GOOG.parquet"]


def test_recent_reads_each_symbols_last_bars_back_across_days(tmp_path: Path) -> None:
    history = BarHistory(tmp_path)
    day = 86_400_000
    bars = [
        Bar(
            symbol,
            "1s",
            ORIGIN + offset,
            1.0,
            2.0,
            0.5,
            1.0 + i,
            10.0,
            3,
            indicators={"sma_2": 1.5 if i else None},
        )
        for symbol in ("AAA", "BBB")
        for i, offset in enumerate([0, 1000, day, day + 1000, 2 * day])
    ]
    history.write([*bars, dataclasses.replace(bars[0], symbol="AAA", interval="1m")])

    recent = history.recent("1s", ["AAA", "BBB", "CCC"], keep=3)

    assert recent == {"AAA": bars[2:5], "BBB": bars[7:10]}  # oldest first, indicators back, no CCC
    assert history.recent("1s", ["AAA"], keep=100)["AAA"] == bars[:5]
    assert BarHistory(tmp_path / "nothing").recent("1s", ["AAA"], keep=3) == {}


async def test_the_embedded_markets_bars_are_stored_once_at_their_last_revision(
    tmp_path: Path, two_symbols: pa.Table
) -> None:
    ticks = list(replay_ticks(two_symbols, seed=3, origin_ms=ORIGIN))
    history = BarHistory(tmp_path / "history")
    stop = asyncio.Event()
    async with EmbeddedMarket(TickReplay(ticks), config=CONFIG) as market:
        storing = asyncio.create_task(
            run_history(market.bus, history, names=market.topics, stop=stop, batch=100, every=0.1)
        )
        await market.wait()
        produced = market.job.bars
        await until(lambda: history.written >= produced)
        stop.set()
        writers = await storing

    expected = final_bars(revisions(two_symbols))
    assert sum(w.consumed for w in writers) == produced
    assert stored_rows(history) == as_rows(expected.values())
    con = ibis.duckdb.connect()
    table = history_table(con, history.root)
    assert table.count().execute() == len(expected)
    one_minute = table.filter(table.interval == "1m").order_by(["symbol", "start"]).execute()
    assert list(one_minute["close"]) == [b.close for k, b in expected.items() if k[1] == "1m"]


async def publish(transport: Transport, topics: Topics, bars: Iterable[Bar]) -> None:
    for bar in bars:
        topic = topics.bars(bar.interval)
        await transport.publish(topic, bar.symbol, encode_bar(bar), timestamp_ms=bar.start)
    await transport.flush()


async def store_until(bootstrap: str, topics: Topics, history: BarHistory, count: int, group: str) -> int:
    """Run the sink on Kafka until ``count`` bars are written; how many records it consumed."""
    stop = asyncio.Event()
    before = history.written
    storing = asyncio.create_task(
        run_history(KafkaTransport(bootstrap), history, names=topics, group=group, stop=stop, every=0.2)
    )
    await until(lambda: history.written - before >= count or storing.done())
    stop.set()
    return sum(w.consumed for w in await storing)


@pytest.mark.kafka
async def test_on_kafka_a_restarted_sink_goes_on_where_it_committed_and_duplicates_nothing(
    kafka_bootstrap: str, tmp_path: Path, two_symbols: pa.Table
) -> None:
    topics = Topics(namespace=f"test-{uuid.uuid4().hex[:8]}.")
    await ensure_topics(kafka_bootstrap, [topics.bars(i) for i in CONFIG.intervals], partitions=2)
    bars = revisions(two_symbols)
    half = len(bars) // 2
    history = BarHistory(tmp_path / "history")
    async with KafkaTransport(kafka_bootstrap) as transport:
        await publish(transport, topics, bars[:half])
        first = await store_until(kafka_bootstrap, topics, history, half, "sink")
        await publish(transport, topics, bars[half:])
        second = await store_until(kafka_bootstrap, topics, history, len(bars) - half, "sink")
        # A sink that lost its offsets (a new group) reads everything again: the files stay the same.
        again = await store_until(kafka_bootstrap, topics, history, len(bars), "another-sink")

    assert (first, second, again) == (half, len(bars) - half, len(bars))
    assert stored_rows(history) == as_rows(final_bars(bars).values())


def test_a_writer_commits_only_after_writing(tmp_path: Path) -> None:
    order: list[str] = []

    class Recording(BarHistory):
        def write(self, bars: Iterable[Bar]) -> int:
            order.append("write")
            return super().write(bars)

    class Sub:
        async def commit(self) -> None:
            order.append("commit")

    writer = HistoryWriter(Recording(tmp_path))
    writer._pending = [Bar("GOOG", "1s", ORIGIN, 1.0, 1.0, 1.0, 1.0, 1.0, 1)]
    asyncio.run(writer.flush(Sub()))  # type: ignore[arg-type]
    assert order == ["write", "commit"]
