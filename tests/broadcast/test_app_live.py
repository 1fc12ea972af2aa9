"""The app's broadcast: /live/ws is mounted on the app's API with the market topics public, and with
Kafka configured the market topics are fed from ``quanta.bars.1s``."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from fastapi.testclient import TestClient

from pipelines.kafka import KafkaTransport, ensure_topics
from quanta import db
from quanta.broadcast import Hub, Outbox
from quanta.broadcast.market import MarketBroadcast, bar_topic, common_history
from quanta.collab import set_current_hub
from quanta.settings import get_settings
from quanta.streaming import Bar, Topics, encode_bar, synthetic_market_bars
from quanta_app.api import build_api
from quanta_app.live import kafka_feed, live_hub, live_market
from tests.broadcast.conftest import eventually, frames


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("QUANTA_VAR_DIR", str(tmp_path))
    for name in ("QUANTA_REDIS_URL", "QUANTA_KAFKA_BOOTSTRAP", "QUANTA_LIVE_SYMBOLS"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    live_hub.cache_clear()
    live_market.cache_clear()
    with TestClient(build_api()) as test_client:
        yield test_client
    set_current_hub(None)
    db.dispose_engines()
    live_hub.cache_clear()
    live_market.cache_clear()
    get_settings.cache_clear()


def test_the_apps_api_serves_the_market_topics_to_everyone_and_nothing_else(client: TestClient) -> None:
    with client.websocket_connect("/live/ws") as socket:
        socket.send_json({"op": "subscribe", "topic": "market.bars.1s.GOOG", "after": None})
        snapshot, status = socket.receive_text().split("\n")
        socket.send_json({"op": "subscribe", "topic": "contest.1.board", "after": None})
        refused = socket.receive_json()

    assert snapshot.startswith('{"topic":"market.bars.1s.GOOG","seq":0,"kind":"snapshot"')
    assert snapshot.endswith('"data":{"bars":[]}}')
    assert status.endswith('"data":{"state":"stale","detail":"waiting for the first data"}}')
    assert live_hub().topics == [bar_topic(s) for s in ("GOOG", "AAPL", "MSFT", "IBM")]
    assert refused["data"]["code"] == "forbidden"


def test_the_replay_starts_when_every_live_symbol_has_bars() -> None:
    late = synthetic_market_bars(["LATE"], seed=1, days=20)
    early = synthetic_market_bars(["EARLY"], seed=1, days=40)
    both = common_history(pa.concat_tables([early, late.slice(5)]))

    first = pc.min(late.slice(5).column("ts"))
    assert pc.min(both.column("ts")) == first
    assert set(both.column("symbol").to_pylist()) == {"EARLY", "LATE"}
    with pytest.raises(ValueError, match="quanta data load"):
        common_history(early.slice(0, 0))


@pytest.mark.anyio
@pytest.mark.kafka
async def test_with_kafka_the_market_topics_carry_the_bars_of_the_bars_topic(kafka_bootstrap: str) -> None:
    topics = Topics(namespace=f"test-{uuid.uuid4().hex[:8]}.")
    await ensure_topics(kafka_bootstrap, [topics.bars("1s")], partitions=2)
    hub = Hub()
    market = MarketBroadcast(hub, ["AAA", "BBB"])
    outbox = Outbox()
    await hub.subscribe(bar_topic("AAA"), outbox)
    following = asyncio.create_task(market.follow(kafka_feed(kafka_bootstrap, topics=topics)))
    start = 1_700_000_000_000
    async with KafkaTransport(kafka_bootstrap) as transport:
        published = 0
        async with asyncio.timeout(60):
            while market.published < 6:  # the consumer joins at "now": publish until it reads
                for symbol in ("AAA", "BBB"):
                    bar = Bar(symbol, "1s", start + 1000 * published, 10.0, 11.0, 9.0, 10.5, 5.0, 16)
                    await transport.publish(
                        topics.bars("1s"), symbol, encode_bar(bar), timestamp_ms=bar.start
                    )
                published += 1
                await transport.flush()
                await asyncio.sleep(0.2)
    await eventually(lambda: hub.last_seq(bar_topic("AAA")) >= 3)
    following.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await following

    deltas = [f for f in frames(outbox) if f["kind"] == "delta"]
    starts = [f["data"]["t"] for f in deltas]
    assert starts == sorted(starts)
    assert [f["seq"] for f in deltas] == list(range(1, len(deltas) + 1))
    assert all(f["data"]["c"] == 10.5 for f in deltas)
