"""The hub: sequence numbers, resume without gaps or duplicates, snapshots, slow subscribers, one
encoding per message."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quanta.broadcast import Hub, LastN, Outbox, Snapshot, Status, UnknownTopicError
from quanta.broadcast import _hub as hub_module
from tests.broadcast.conftest import frames, kinds

pytestmark = pytest.mark.anyio

TOPIC = "room.lobby"


async def test_each_topic_numbers_its_messages_from_one() -> None:
    hub = Hub()
    hub.declare(TOPIC)
    hub.declare("room.other")

    seqs = [await hub.publish(TOPIC, {"n": n}) for n in range(3)]
    other = await hub.publish("room.other", {"n": 0})

    assert seqs == [1, 2, 3]
    assert other == 1
    assert hub.last_seq(TOPIC) == 3


async def test_a_new_subscriber_gets_the_snapshot_then_the_deltas() -> None:
    hub = Hub()
    hub.declare(TOPIC, view=LastN(2))
    for text in ("a", "b", "c"):
        await hub.publish(TOPIC, {"text": text})
    outbox = Outbox()

    await hub.subscribe(TOPIC, outbox)
    await hub.publish(TOPIC, {"text": "d"})
    got = frames(outbox)

    assert kinds(got) == [("snapshot", 3), ("status", 3), ("delta", 4)]
    assert got[0]["data"] == [{"text": "b"}, {"text": "c"}]
    assert got[0]["epoch"] == hub.epoch(TOPIC)
    assert got[1]["data"] == {"state": "live", "detail": ""}
    assert got[2] == {"topic": TOPIC, "seq": 4, "kind": "delta", "data": {"text": "d"}}


async def test_resuming_after_n_replays_exactly_the_messages_after_n() -> None:
    hub = Hub()
    hub.declare(TOPIC, view=LastN(100))
    for n in range(1, 11):
        await hub.publish(TOPIC, n)
    outbox = Outbox()

    await hub.subscribe(TOPIC, outbox, after=4, epoch=hub.epoch(TOPIC))
    await hub.publish(TOPIC, 11)
    got = frames(outbox)

    deltas = [frame for frame in got if frame["kind"] == "delta"]
    assert [frame["seq"] for frame in deltas] == list(range(5, 12))
    assert [frame["data"] for frame in deltas] == list(range(5, 12))
    assert "snapshot" not in {frame["kind"] for frame in got}


async def test_resuming_when_up_to_date_sends_only_the_status() -> None:
    hub = Hub()
    hub.declare(TOPIC)
    await hub.publish(TOPIC, 1)
    outbox = Outbox()

    await hub.subscribe(TOPIC, outbox, after=1, epoch=hub.epoch(TOPIC))

    assert kinds(frames(outbox)) == [("status", 1)]


@pytest.mark.parametrize(
    ("after", "epoch"),
    [(3, "same"), (25, "same"), (15, "0123456789abcdef")],
    ids=["too-far-behind", "from-the-future", "another-epoch"],
)
async def test_a_resume_the_ring_cannot_serve_gets_a_snapshot(after: int, epoch: str) -> None:
    hub = Hub(history=8)
    hub.declare(TOPIC, view=LastN(100))
    for n in range(1, 21):
        await hub.publish(TOPIC, n)
    outbox = Outbox()

    await hub.subscribe(TOPIC, outbox, after=after, epoch=hub.epoch(TOPIC) if epoch == "same" else epoch)
    got = frames(outbox)

    assert kinds(got) == [("snapshot", 20), ("status", 20)]
    assert got[0]["data"] == list(range(1, 21))


async def test_a_slow_subscriber_is_dropped_with_a_resync_and_the_others_get_everything() -> None:
    hub = Hub()
    hub.declare(TOPIC)
    fast, slow = Outbox(limit=4), Outbox(limit=4)
    await hub.subscribe(TOPIC, fast)
    await hub.subscribe(TOPIC, slow)
    fast_frames = frames(fast)
    slow_frames = frames(slow)

    for n in range(1, 11):
        await hub.publish(TOPIC, n)
        fast_frames += frames(fast)  # the fast one keeps up
    slow_frames += frames(slow)

    assert [f["seq"] for f in fast_frames if f["kind"] == "delta"] == list(range(1, 11))
    assert kinds(slow_frames)[2:] == [("delta", 1), ("delta", 2), ("delta", 3), ("delta", 4), ("resync", 5)]
    assert hub.subscribers(TOPIC) == 1
    assert hub.stats.resyncs == 1

    await hub.subscribe(TOPIC, slow, after=4, epoch=hub.epoch(TOPIC))  # what the client does on resync
    resumed = frames(slow)

    assert [f["seq"] for f in resumed if f["kind"] == "delta"] == [5, 6, 7, 8]
    assert resumed[-1]["kind"] == "resync"  # still more than its outbox holds: once more


def test_an_outbox_that_is_never_read_overflows_instead_of_growing_for_ever() -> None:
    outbox = Outbox(limit=2)

    taken = [outbox.offer(f"frame {n}") for n in range(4)]
    for n in range(7):
        outbox.force(f"pong {n}")
        assert outbox.overflowed is (len(outbox) > 8)

    assert taken == [True, True, False, False]
    assert outbox.overflowed


async def test_a_message_is_encoded_once_and_the_same_frame_goes_to_every_subscriber(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hub = Hub()
    hub.declare(TOPIC)
    outboxes = [Outbox() for _ in range(50)]
    for outbox in outboxes:
        await hub.subscribe(TOPIC, outbox)
        outbox.take_nowait()
    encodings: list[Any] = []
    real_dumps = hub_module.dumps

    def counting_dumps(data: Any) -> str:
        encodings.append(data)
        return real_dumps(data)

    monkeypatch.setattr(hub_module, "dumps", counting_dumps)

    await hub.publish(TOPIC, {"rows": list(range(50))})
    sent = [outbox.take_nowait() for outbox in outboxes]

    assert len(encodings) == 1
    assert all(len(got) == 1 and got[0] is sent[0][0] for got in sent)


async def test_subscribers_that_join_together_share_one_snapshot_frame() -> None:
    hub = Hub()
    hub.declare(TOPIC, view=LastN(10))
    await hub.publish(TOPIC, "x")
    one, two = Outbox(), Outbox()

    await hub.subscribe(TOPIC, one)
    await hub.subscribe(TOPIC, two)

    assert one.take_nowait()[0] is two.take_nowait()[0]


async def test_deltas_published_while_an_async_snapshot_is_read_follow_it() -> None:
    hub = Hub()
    release = asyncio.Event()

    async def read() -> list[str]:
        await release.wait()
        return ["from the database"]

    hub.declare(TOPIC, view=Snapshot(read))
    outbox = Outbox()
    subscribing = asyncio.create_task(hub.subscribe(TOPIC, outbox))
    await asyncio.sleep(0)
    await hub.publish(TOPIC, "meanwhile")
    release.set()
    await subscribing

    assert kinds(frames(outbox)) == [("snapshot", 0), ("delta", 1), ("status", 1)]


async def test_a_topic_turns_stale_when_quiet_and_live_with_the_next_message() -> None:
    hub = Hub()
    hub.declare(TOPIC, stale_after=0.3)
    outbox = Outbox()
    await hub.subscribe(TOPIC, outbox)
    assert frames(outbox)[-1]["data"]["state"] == "stale"  # nothing yet

    async with hub.running():
        await hub.publish(TOPIC, 1)
        assert hub.status(TOPIC)[0] is Status.LIVE
        await asyncio.sleep(0.8)
        quiet = hub.status(TOPIC)
        await hub.publish(TOPIC, 2)

    got = frames(outbox)
    assert quiet[0] is Status.STALE
    assert [(f["kind"], f.get("data")) for f in got if f["kind"] == "status"] == [
        ("status", {"state": "live", "detail": ""}),
        ("status", {"state": "stale", "detail": quiet[1]}),
        ("status", {"state": "live", "detail": ""}),
    ]


async def test_an_undeclared_topic_is_refused() -> None:
    hub = Hub()

    with pytest.raises(UnknownTopicError):
        await hub.subscribe("room.nowhere", Outbox())
    with pytest.raises(UnknownTopicError):
        await hub.publish("room.nowhere", 1)


def test_a_topic_name_with_a_newline_is_refused() -> None:
    with pytest.raises(ValueError, match="topic"):
        Hub().declare("room\nlobby")


def test_data_that_is_not_json_is_refused_before_anything_is_sent() -> None:
    hub = Hub()
    hub.declare(TOPIC)

    with pytest.raises(ValueError, match="JSON"):
        asyncio.run(hub.publish(TOPIC, float("nan")))
    assert hub.last_seq(TOPIC) == 0


# -- the property: whatever the timing, a resuming client ends with every message exactly once ------


@dataclass
class _Client:
    outbox: Outbox
    seq: int | None = None
    epoch: str | None = None
    state: list[int] = field(default_factory=list)
    connected: bool = True
    problems: list[str] = field(default_factory=list)

    async def drain(self, hub: Hub) -> None:
        for raw in self.outbox.take_nowait():
            frame = json.loads(raw)
            if frame["kind"] == "snapshot":
                self.seq, self.epoch, self.state = frame["seq"], frame["epoch"], list(frame["data"])
            elif frame["kind"] == "delta":
                if frame["seq"] != (self.seq or 0) + 1:
                    self.problems.append(f"delta {frame['seq']} after {self.seq}")
                self.seq = frame["seq"]
                self.state.append(frame["data"])
            elif frame["kind"] == "resync":
                await hub.subscribe(TOPIC, self.outbox, after=self.seq, epoch=self.epoch)


_ACTIONS = st.lists(
    st.tuples(st.sampled_from(["publish", "drain", "drop", "resume"]), st.integers(0, 2)), max_size=80
)


@settings(max_examples=150, deadline=None)
@given(
    actions=_ACTIONS, history=st.integers(1, 12), limits=st.lists(st.integers(1, 6), min_size=3, max_size=3)
)
def test_resuming_clients_end_with_every_message_exactly_once(
    actions: list[tuple[str, int]], history: int, limits: list[int]
) -> None:
    async def scenario() -> None:
        hub = Hub(history=history)
        hub.declare(TOPIC, view=LastN(10_000))
        clients = [_Client(Outbox(limit)) for limit in limits]
        for client in clients:
            await hub.subscribe(TOPIC, client.outbox)
        published: list[int] = []
        for action, index in actions:
            client = clients[index]
            if action == "publish":
                published.append(len(published))
                await hub.publish(TOPIC, published[-1])
            elif action == "drain" and client.connected:
                await client.drain(hub)
            elif action == "drop" and client.connected:
                hub.unsubscribe(TOPIC, client.outbox)
                client.outbox.take_nowait()  # what was in flight is lost with the connection
                client.connected = False
            elif action == "resume" and not client.connected:
                client.connected = True
                await hub.subscribe(TOPIC, client.outbox, after=client.seq, epoch=client.epoch)
        for client in clients:
            if not client.connected:
                await hub.subscribe(TOPIC, client.outbox, after=client.seq, epoch=client.epoch)
            while len(client.outbox):
                await client.drain(hub)
            assert client.problems == []
            assert client.state == published

    asyncio.run(scenario())
