"""The app's broadcast: /live/ws is mounted on the app's API with the market topics public, and with
Kafka configured the market topics are fed from ``quanta.bars.1s`` — through a broker outage, which the
topics report as stale while the app keeps serving, and after which the bars resume by themselves."""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import dataclasses
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pipelines.history import BarHistory
from pipelines.kafka import KafkaTransport, ensure_topics
from quanta import db
from quanta.broadcast import Hub, Outbox
from quanta.broadcast.client import BroadcastClient, Follower
from quanta.broadcast.market import MarketBroadcast, ReplayFeed, bar_topic, common_history
from quanta.collab import set_current_hub
from quanta.settings import get_settings
from quanta.streaming import Bar, Topics, encode_bar, synthetic_market_bars
from quanta.testing.services import KafkaBroker, free_port
from quanta_app.api import build_api
from quanta_app.live import kafka_feed, live_hub, live_market, recorded, warm_from_history
from quanta_app.paper import _BarSink
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
async def test_with_kafka_the_market_topics_carry_the_bars_and_forming_bars_of_their_topics(
    kafka_bootstrap: str,
) -> None:
    topics = Topics(namespace=f"test-{uuid.uuid4().hex[:8]}.")
    await ensure_topics(kafka_bootstrap, [topics.bars("1s")], partitions=2)  # the forming topic: the feed's
    hub = Hub()
    market = MarketBroadcast(hub, ["AAA", "BBB"])
    outbox = Outbox()
    await hub.subscribe(bar_topic("AAA"), outbox)
    following = asyncio.create_task(market.follow(kafka_feed(kafka_bootstrap, topics=topics)))
    start = 1_700_000_000_000
    async with KafkaTransport(kafka_bootstrap) as transport:
        published = 0
        async with asyncio.timeout(60):
            while market.published < 12:  # the consumers join at "now": publish until they read
                for symbol in ("AAA", "BBB"):
                    bar = Bar(symbol, "1s", start + 1000 * published, 10.0, 11.0, 9.0, 10.5, 5.0, 16)
                    forming = Bar(symbol, "1s", bar.start + 1000, 10.5, 10.6, 10.4, 10.6, 1.0, 2)
                    forming = dataclasses.replace(forming, forming=True)
                    await transport.publish(
                        topics.bars("1s"), symbol, encode_bar(bar), timestamp_ms=bar.start
                    )
                    await transport.publish(
                        topics.forming("1s"), symbol, encode_bar(forming), timestamp_ms=forming.start
                    )
                published += 1
                await transport.flush()
                await asyncio.sleep(0.2)
    await eventually(lambda: hub.last_seq(bar_topic("AAA")) >= 6)
    following.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await following

    deltas = [f for f in frames(outbox) if f["kind"] == "delta"]
    final = [f["data"] for f in deltas if not f["data"].get("f")]
    forming = [f["data"] for f in deltas if f["data"].get("f")]
    assert [b["t"] for b in final] == sorted(b["t"] for b in final)
    assert [f["seq"] for f in deltas] == list(range(1, len(deltas) + 1))
    assert final
    assert all(b["c"] == 10.5 for b in final)
    assert forming
    assert all(b["c"] == 10.6 and b["f"] == 1 for b in forming)


@contextlib.asynccontextmanager
async def served_app(app: FastAPI) -> AsyncIterator[str]:
    """``app`` under uvicorn on a free loopback port, in this event loop; yields ``http://host:port``."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="wsproto")
    )
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(30):
        while not server.started:
            assert not task.done(), "uvicorn stopped while starting"
            await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 20)


async def publish_bars(bootstrap: str, topic: str, sent: list[int]) -> None:
    """One 1 s bar of GOOG every 0.2 s, for ever; ``sent`` gets each window start once it is stored
    (through an outage ``flush`` waits, and the idempotent producer delivers the backlog once)."""
    start = int(time.time()) * 1000 - 3_600_000
    async with KafkaTransport(bootstrap) as transport:
        while True:
            t = start + 1000 * len(sent)
            bar = Bar("GOOG", "1s", t, 10.0, 11.0, 9.0, 10.0 + len(sent) % 7, 5.0, 16)
            await transport.publish(topic, "GOOG", encode_bar(bar), timestamp_ms=t)
            await transport.flush()
            sent.append(t)
            await asyncio.sleep(0.2)


async def follow(follower: Follower, seen: list[dict[str, Any]]) -> None:
    await follower.connect()
    while True:
        seen.append(await follower.step())


async def until(condition: Any, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def statuses(seen: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [f["data"] for f in seen if f["kind"] == "status"]


@pytest.mark.anyio
@pytest.mark.kafka
@pytest.mark.slow
async def test_when_kafka_goes_down_the_market_turns_stale_the_app_serves_and_bars_resume_by_themselves(
    kafka_broker: KafkaBroker, kafka_bootstrap: str, client: TestClient
) -> None:
    del client  # the app's settings, hub and market topics, fresh
    topics = Topics(namespace=f"test-{uuid.uuid4().hex[:8]}.")
    await ensure_topics(kafka_bootstrap, [topics.bars("1s")], partitions=2)
    market = live_market()
    market.stale_after = 1.5
    sent: list[int] = []
    seen: list[dict[str, Any]] = []
    async with served_app(build_api()) as url, live_hub().running():
        follower = Follower(url.replace("http://", "ws://") + "/live/ws", bar_topic("GOOG"))
        tasks = [
            asyncio.create_task(market.watch(every=0.1)),
            asyncio.create_task(market.follow(kafka_feed(kafka_bootstrap, topics=topics))),
            asyncio.create_task(publish_bars(kafka_bootstrap, topics.bars("1s"), sent)),
            asyncio.create_task(follow(follower, seen)),
        ]
        try:
            await until(lambda: len(follower.deltas) >= 3 and follower.state == "live", "bars flowing")
            stopping_at = time.time()
            await asyncio.to_thread(kafka_broker.stop)
            down_at = time.time()
            await until(lambda: follower.state == "stale", "the topic reports stale", timeout=30)
            stale = statuses(seen)[-1]["detail"]
            async with httpx.AsyncClient(base_url=url) as http:  # the rest of the app still serves
                health = await http.get("/api/health", timeout=10)
            late = await BroadcastClient.connect(url.replace("http://", "ws://") + "/live/ws")
            await late.subscribe(bar_topic("GOOG"))
            snapshot, status = await late.receive(), await late.receive()
            await late.close()
            seq_down = follower.seq or 0

            await asyncio.to_thread(kafka_broker.start)
            await until(
                lambda: follower.state == "live" and (follower.seq or 0) >= seq_down + 3, "bars resume"
            )
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.to_thread(kafka_broker.start)
            await follower.disconnect()

    since = re.fullmatch(r"no bars since (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)", stale)
    assert since is not None, stale
    last_bar = calendar.timegm(time.strptime(since.group(1), "%Y-%m-%dT%H:%M:%SZ"))
    assert stopping_at - 2 <= last_bar <= down_at + 1  # the time of the last bar before the outage
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert (snapshot["kind"], len(snapshot["data"]["bars"])) == ("snapshot", seq_down)
    assert status["data"] == {"state": "stale", "detail": stale}
    assert [(s["state"], s["detail"]) for s in statuses(seen)] == [
        ("stale", "waiting for the first data"),
        ("live", ""),
        ("stale", stale),
        ("live", ""),
    ]
    assert (follower.gaps, follower.duplicates, follower.resyncs, len(follower.snapshots)) == (0, 0, 0, 1)
    starts = [data["t"] for _, data in follower.deltas]
    assert starts == sorted(set(starts))  # no bar twice, time only forward
    assert market.failures == 0  # the consumer rode the outage out: nothing had to be reopened


@pytest.mark.anyio
async def test_the_embedded_replay_keeps_what_it_publishes_in_the_history(tmp_path: Path) -> None:
    """30 warm-up days at once, then a bar a second: every bar published is stored, at its last revision;
    forming bars are not."""
    hub = Hub()
    market = MarketBroadcast(hub, ["AAA", "BBB"])
    outboxes = {symbol: Outbox(limit=100_000) for symbol in ("AAA", "BBB")}
    for symbol, outbox in outboxes.items():
        await hub.subscribe(bar_topic(symbol), outbox)
    replay = ReplayFeed(lambda: synthetic_market_bars(["AAA", "BBB"], seed=3, days=60), warmup=30)
    history = BarHistory(tmp_path / "history")
    following = asyncio.create_task(market.follow(recorded(replay, history, every=0.2)))
    await eventually(lambda: market.published >= 64 and history.written > 0, timeout=20, what="bars stored")
    following.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await following

    deltas = [(symbol, f["data"]) for symbol, outbox in outboxes.items() for f in frames(outbox)
              if f["kind"] == "delta"]  # fmt: skip
    published = {(symbol, d["t"]): (d["c"], d["r"]) for symbol, d in deltas if not d.get("f")}
    stored = history.read()
    rows = zip(stored["symbol"].to_pylist(), stored["start"].to_pylist(), stored["close"].to_pylist(),
               stored["rev"].to_pylist(), strict=True)  # fmt: skip
    assert {(s, t): (c, r) for s, t, c, r in rows} == published
    forming = sum(1 for _, d in deltas if d.get("f"))
    assert forming > 0
    assert stored.num_rows == len(published) == market.published - forming


def test_the_paper_desk_takes_only_the_closed_bars_of_the_market_topics() -> None:
    queue: asyncio.Queue[Bar] = asyncio.Queue()
    sink = _BarSink("AAA", queue)
    start = 1_700_000_000_000
    base = {"t": start, "o": 10.0, "h": 11.0, "l": 9.0, "c": 10.5, "v": 5.0, "n": 16, "x": {}}
    for data in (
        base | {"r": 0, "f": 1},  # forming: the window is still open
        base | {"r": 0},  # closed
        base | {"r": 1},  # a late tick's revision: the desk already acted on the bar
        base | {"t": start + 1000, "r": 0, "f": 1},
    ):
        assert sink.offer(json.dumps({"kind": "delta", "seq": 1, "data": data}))
    assert queue.qsize() == 1
    assert queue.get_nowait() == Bar("AAA", "1s", start, 10.0, 11.0, 9.0, 10.5, 5.0, 16)


@pytest.mark.anyio
async def test_a_restarted_app_shows_the_stored_bars_at_once_and_survives_a_damaged_history(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """What the embedded replay (or ``pipelines.history`` on Kafka) stored comes back as the snapshot."""
    history = BarHistory(tmp_path / "history")
    start = 1_700_000_000_000
    history.write(
        [Bar("AAA", "1s", start + 1000 * i, 10.0, 11.0, 9.0, 10.0 + i, 5.0, 16) for i in range(400)]
    )
    hub = Hub()
    market = MarketBroadcast(hub, ["AAA", "BBB"])

    assert await warm_from_history(market, history) == 300  # the snapshot's size

    follower = Outbox()
    await hub.subscribe(bar_topic("AAA"), follower)
    snapshot, status = frames(follower)
    assert [b["c"] for b in snapshot["data"]["bars"]] == [10.0 + i for i in range(100, 400)]
    assert status["data"]["state"] == "stale"
    assert "no bars since" in status["data"]["detail"]

    (tmp_path / "history" / "1s" / "2023-11-14" / "BBB.parquet").write_bytes(b"not parquet")
    assert await warm_from_history(MarketBroadcast(Hub(), ["BBB"]), history) == 0
    assert "could not read the bar history" in caplog.text
