"""The desk on the session's real Kafka broker: bars in from Kafka, orders and fills out to Kafka.

The fault test stops the broker mid-stream (cleanly, or with SIGKILL) and starts it again on the same
log folder while bars keep coming: the fills topic and the stored account end exactly as in the engine's
backtest on the same bars (which the fault-free tests show the desk matches) — no fill lost, none twice.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import pytest

from pipelines.kafka import KafkaTransport, ensure_topics
from quanta.paper import PaperDesk
from quanta.paper.events import FillEvent, decode_fill, decode_order
from quanta.paper.store import PaperStore
from quanta.settings import Settings
from quanta.streaming import Bar, Message, Topics, encode_bar
from quanta.testing.services import KafkaBroker
from tests.paper.conftest import live_bars
from tests.paper.test_desk import SPEC, as_rows, engine_fills, wait_for

pytestmark = [pytest.mark.anyio, pytest.mark.kafka]


async def read(bootstrap: str, topic: str, count: int, *, timeout: float = 60.0) -> list[Message]:
    """Exactly the first ``count`` records of ``topic``, and proof that no more follow within a second."""
    got: list[Message] = []
    async with KafkaTransport(bootstrap).subscribe(topic, from_beginning=True) as subscription:

        async def take(limit: int) -> None:
            async for message in subscription:
                got.append(message)
                if len(got) >= limit:
                    return

        await asyncio.wait_for(take(count), timeout)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(take(count + 1), 1.0)
    return got


async def publish_bars(transport: KafkaTransport, topics: Topics, bars: Sequence[Bar], pause: float) -> None:
    for bar in bars:
        await transport.publish(topics.bars("1s"), bar.symbol, encode_bar(bar), timestamp_ms=bar.start)
        await asyncio.sleep(pause)
    await transport.flush()


async def run(
    bootstrap: str,
    settings: Settings,
    bars: Sequence[Bar],
    *,
    broker: KafkaBroker | None = None,
    crash: bool = False,
) -> tuple[list[FillEvent], dict[str, int]]:
    topics = Topics(namespace=f"paper-{uuid.uuid4().hex[:8]}.")
    await ensure_topics(bootstrap, [topics.bars("1s"), topics.orders, topics.fills], partitions=3)
    seen: dict[str, int] = {}
    async with (
        KafkaTransport(bootstrap, client_id="test-bars") as feed,
        KafkaTransport(bootstrap, client_id="test-paper") as side,
        PaperDesk(side, topics, settings, group=f"{topics.namespace}paper") as desk,
    ):
        await desk.add("pp_kafka", SPEC)

        async def fault() -> None:
            if broker is None:
                return
            await wait_for(lambda: desk.steps >= len(bars) // 3)
            await asyncio.to_thread(broker.stop, kill=crash)
            seen["down"] = desk.steps
            await asyncio.sleep(1.5)
            await asyncio.to_thread(broker.start)
            seen["up"] = desk.steps

        faulting = asyncio.create_task(fault())
        try:
            await publish_bars(feed, topics, bars, pause=0.01)
            await faulting
            await wait_for(lambda: desk.steps >= len(bars), timeout=120)
        finally:
            if broker is not None:
                await asyncio.to_thread(broker.start)
    stored = PaperStore(settings).fills("pp_kafka")
    fills = [decode_fill(m.value) for m in await read(bootstrap, topics.fills, len(stored))]
    decided = PaperStore(settings).load("pp_kafka", SPEC.symbols).seen
    orders = [decode_order(m.value) for m in await read(bootstrap, topics.orders, len(decided))]
    assert sorted(o.order_id for o in orders) == sorted(decided)
    assert {f.order_id for f in fills} <= decided
    assert stored == sorted(fills, key=lambda f: f.seq)
    return fills, seen


async def test_the_desk_on_kafka_fills_as_the_engine(kafka_bootstrap: str, settings: Settings) -> None:
    bars = live_bars("GOOG", 200)
    fills, _ = await run(kafka_bootstrap, settings, bars)
    assert as_rows(fills) == engine_fills(bars, SPEC)


@pytest.mark.slow
@pytest.mark.parametrize("crash", [False, True], ids=["clean-stop", "sigkill"])
async def test_broker_restart_mid_stream_loses_and_duplicates_no_fill(
    kafka_broker: KafkaBroker, kafka_bootstrap: str, settings: Settings, crash: bool
) -> None:
    bars = live_bars("GOOG", 240)
    fills, seen = await run(kafka_bootstrap, settings, bars, broker=kafka_broker, crash=crash)
    assert 0 < seen["down"] < len(bars)
    assert as_rows(fills) == engine_fills(bars, SPEC)
    assert [f.seq for f in fills] == list(range(1, len(fills) + 1))
