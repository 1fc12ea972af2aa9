"""The websocket endpoint over real sockets (uvicorn on a free port): snapshot then deltas, resume
after a reconnect, authorisation, errors, keepalive, and a client moving between two workers."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest

from quanta.broadcast import Hub, LastN, RedisRelay
from quanta.broadcast.asgi import Limits, Peer, public
from quanta.broadcast.client import BroadcastClient, ConnectionClosed, Follower, HandshakeRefused
from tests.broadcast.conftest import eventually, served

pytestmark = pytest.mark.anyio

TOPIC = "market.bars.1s.GOOG"


def market_hub() -> Hub:
    hub = Hub()
    hub.declare(TOPIC, view=LastN(100))
    return hub


async def test_a_subscriber_gets_the_snapshot_the_status_and_then_each_delta() -> None:
    hub = market_hub()
    await hub.publish(TOPIC, {"c": 100.0})
    async with served(hub) as url:
        client = await BroadcastClient.connect(url)
        await client.subscribe(TOPIC)
        snapshot, status = await client.receive(), await client.receive()
        await eventually(lambda: hub.subscribers(TOPIC) == 1)
        await hub.publish(TOPIC, {"c": 101.5})
        delta = await client.receive()
        await client.close()

    assert snapshot == {
        "topic": TOPIC, "seq": 1, "kind": "snapshot", "epoch": hub.epoch(TOPIC), "data": [{"c": 100.0}],
    }  # fmt: skip
    assert status == {"topic": TOPIC, "seq": 1, "kind": "status", "data": {"state": "live", "detail": ""}}
    assert delta == {"topic": TOPIC, "seq": 2, "kind": "delta", "data": {"c": 101.5}}


async def test_a_client_that_reconnects_resumes_without_gaps_or_duplicates() -> None:
    hub = market_hub()
    async with served(hub) as url:
        follower = Follower(url, TOPIC)
        await follower.connect()
        await eventually(lambda: hub.subscribers(TOPIC) == 1)
        for n in range(1, 6):
            await hub.publish(TOPIC, n)
        await follower.until_seq(5)
        await follower.disconnect(abrupt=True)  # the network drops
        await eventually(lambda: hub.subscribers(TOPIC) == 0, what="the server noticed")
        for n in range(6, 31):
            await hub.publish(TOPIC, n)  # published while the client is away
        await follower.connect()
        await follower.until_seq(30)
        for n in range(31, 34):
            await hub.publish(TOPIC, n)
        await follower.until_seq(33)
        await follower.disconnect()

    assert len(follower.snapshots) == 1  # the first connection only; the reconnect resumed
    assert [seq for seq, _ in follower.deltas] == list(range(1, 34))
    assert [data for _, data in follower.deltas] == list(range(1, 34))
    assert (follower.gaps, follower.duplicates) == (0, 0)


async def test_refused_requests_get_an_error_and_the_connection_stays_open() -> None:
    hub = market_hub()
    hub.declare("contest.1.board")

    def only_members(topic: str, peer: Peer) -> bool:
        return topic.startswith("market.") or peer.cookies.get("member") == "yes"

    async with served(hub, authorize=only_members) as url:
        client = await BroadcastClient.connect(url)
        await client.subscribe("contest.1.board")
        forbidden = await client.receive()
        await client.subscribe("market.bars.1s.NOPE")
        unknown = await client.receive()
        await client.send({"op": "dance"})
        bad = await client.receive()
        await client.ping()
        pong = await client.receive()
        member = await BroadcastClient.connect(url, headers=[("Cookie", "member=yes")])
        await member.subscribe("contest.1.board")
        allowed = await member.receive()
        await client.close()
        await member.close()

    assert (forbidden["kind"], forbidden["data"]["code"]) == ("error", "forbidden")
    assert (unknown["kind"], unknown["data"]["code"]) == ("error", "unknown-topic")
    assert (bad["kind"], bad["topic"], bad["data"]["code"]) == ("error", None, "bad-request")
    assert pong == {"kind": "pong"}
    assert allowed["kind"] == "snapshot"


async def test_a_page_of_another_site_is_refused() -> None:
    async with served(market_hub()) as url:
        with pytest.raises(HandshakeRefused) as refused:
            await BroadcastClient.connect(url, headers=[("Origin", "https://evil.example")])

    assert refused.value.status == 403


async def read_until_closed(client: BroadcastClient) -> None:
    while True:
        await client.receive()


async def test_a_connection_that_stops_pinging_is_closed() -> None:
    async with served(market_hub(), limits=Limits(idle_timeout=0.3)) as url:
        client = await BroadcastClient.connect(url)
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(read_until_closed(client), 5)

    assert closed.value.code == 1001


async def test_a_burst_arrives_as_one_message_of_several_frames() -> None:
    hub = market_hub()
    for n in range(1, 41):
        await hub.publish(TOPIC, n)
    async with served(hub) as url:
        follower = Follower(url, TOPIC, seq=10, epoch=hub.epoch(TOPIC))
        await follower.connect()  # resumes: 30 deltas and a status at once
        await follower.until_seq(40)
        await follower.disconnect()

    assert [seq for seq, _ in follower.deltas] == list(range(11, 41))
    assert follower.snapshots == []


@pytest.mark.redis
async def test_a_client_moving_between_two_workers_misses_nothing(redis_url: str) -> None:
    prefix = f"test:{uuid.uuid4().hex[:8]}:"
    relays = [RedisRelay(redis_url, prefix=prefix) for _ in range(2)]
    hubs = [Hub(relay=relay) for relay in relays]
    for hub in hubs:
        hub.declare(TOPIC, view=LastN(1000))
    publisher = hubs[0]
    async with contextlib.AsyncExitStack() as stack:
        urls = [await stack.enter_async_context(served(hub, authorize=public("market."))) for hub in hubs]
        for relay in relays:
            await asyncio.wait_for(relay.connected.wait(), 10)
        follower = Follower(urls[0], TOPIC)
        await follower.connect()
        await eventually(lambda: hubs[0].subscribers(TOPIC) == 1)
        published = 0
        for hop in range(6):  # publish, drop, publish while away, reconnect to the other worker
            for _ in range(5):
                published += 1
                await publisher.publish(TOPIC, published)
            await follower.until_seq(published)
            await follower.disconnect(abrupt=hop % 2 == 0)
            for _ in range(3):
                published += 1
                await publisher.publish(TOPIC, published)
            follower.url = urls[(hop + 1) % 2]
            await follower.connect()
        await follower.until_seq(published)
        await follower.disconnect()
    for relay in relays:
        await relay.aclose()

    assert len(follower.snapshots) == 1
    assert [data for _, data in follower.deltas] == list(range(1, published + 1))
    assert (follower.gaps, follower.duplicates) == (0, 0)
