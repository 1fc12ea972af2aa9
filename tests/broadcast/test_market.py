"""Live market data on the hub: a feed's bars become each symbol's deltas; a failing feed turns the
topics stale and is opened again; the embedded replay ticks in real time and loops forward."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, AsyncIterator

import pytest

from quanta.broadcast import Hub, Outbox, Status
from quanta.broadcast.market import Backoff, MarketBroadcast, RecentBars, ReplayFeed, bar_data, bar_topic
from quanta.streaming import Bar, Message, encode_bar, synthetic_market_bars
from tests.broadcast.conftest import eventually, frames

pytestmark = pytest.mark.anyio

T0 = 1_700_000_000_000


def bar(
    symbol: str, start: int, close: float, *, rev: int = 0, interval: str = "1s", forming: bool = False
) -> Bar:
    return Bar(
        symbol, interval, start, close, close + 1, close - 1, close, 100.0, 16, rev, {"sma_20": None}, forming
    )


async def records(*values: bytes) -> AsyncIterator[Message]:
    for value in values:
        yield Message("quanta.bars.1s", None, value)


def test_recent_bars_keep_the_latest_revision_of_the_last_windows_in_time_order() -> None:
    view = RecentBars(keep=3)
    for item in [bar("A", T0, 1.0), bar("A", T0 + 1000, 2.0), bar("A", T0 + 1000, 2.5, rev=1)]:
        view.apply(bar_data(item))
    view.apply(bar_data(bar("A", T0 + 3000, 4.0)))
    view.apply(bar_data(bar("A", T0 + 2000, 3.0)))  # a window that fired late
    view.apply(bar_data(bar("A", T0 + 4000, 5.0)))

    assert [(b["t"], b["c"]) for b in view.snapshot()["bars"]] == [
        (T0 + 2000, 3.0),
        (T0 + 3000, 4.0),
        (T0 + 4000, 5.0),
    ]


async def test_a_feeds_bars_become_deltas_of_their_symbols_topics() -> None:
    hub = Hub()
    market = MarketBroadcast(hub, ["AAA", "BBB"])
    outbox = Outbox()
    await hub.subscribe(bar_topic("AAA"), outbox)
    outbox.take_nowait()

    count = await market.pump(
        records(
            encode_bar(bar("AAA", T0, 10.0)),
            b'{"v":1,"s":"AAA"}',  # malformed: skipped
            encode_bar(bar("CCC", T0, 1.0)),  # not a live symbol
            encode_bar(bar("AAA", T0, 10.0, interval="1m")),  # another interval
            encode_bar(bar("BBB", T0, 20.0)),
            encode_bar(bar("AAA", T0, 11.0, rev=1)),
        )
    )
    got = frames(outbox)

    assert count == 3
    assert [(f["seq"], f["data"]["c"], f["data"]["r"]) for f in got if f["kind"] == "delta"] == [
        (1, 10.0, 0),
        (2, 11.0, 1),
    ]
    assert got[-1]["data"]["x"] == {"sma_20": None}
    assert market.last_end_ms == T0 + 1000
    assert hub.status(bar_topic("BBB"))[0] is Status.LIVE


async def test_forming_bars_go_out_marked_until_their_windows_final_bar_and_never_after_it() -> None:
    hub = Hub()
    market = MarketBroadcast(hub, ["AAA"])
    outbox = Outbox()
    await hub.subscribe(bar_topic("AAA"), outbox)
    outbox.take_nowait()

    await market.pump(
        records(
            encode_bar(bar("AAA", T0, 10.0, forming=True)),
            encode_bar(bar("AAA", T0, 10.5, forming=True)),
            encode_bar(bar("AAA", T0 + 1000, 12.0, forming=True)),  # the next window opened
            encode_bar(bar("AAA", T0, 11.0)),  # the first window's final bar
            encode_bar(bar("AAA", T0, 10.9, forming=True)),  # a forming bar that lost the race: dropped
            encode_bar(bar("AAA", T0 + 1000, 12.5, forming=True)),
        )
    )
    data = [f["data"] for f in frames(outbox) if f["kind"] == "delta"]
    deltas = [(d["t"] - T0, d["c"], d.get("f")) for d in data]
    assert deltas == [(0, 10.0, 1), (0, 10.5, 1), (1000, 12.0, 1), (0, 11.0, None), (1000, 12.5, 1)]
    assert market.last_end_ms == T0 + 1000  # forming bars do not move where a reopened feed starts
    joiner = Outbox()
    await hub.subscribe(bar_topic("AAA"), joiner)
    (snapshot,) = [f["data"] for f in frames(joiner) if f["kind"] == "snapshot"]
    assert [(b["t"] - T0, b["c"], b.get("f")) for b in snapshot["bars"]] == [(0, 11.0, None), (1000, 12.5, 1)]


async def test_stored_bars_fill_the_snapshot_unsent_and_the_topic_stays_stale_until_the_feeds_first() -> None:
    hub = Hub()
    market = MarketBroadcast(hub, ["AAA", "BBB"], keep=2)
    early = Outbox()
    await hub.subscribe(bar_topic("AAA"), early)
    early.take_nowait()
    stored = [bar("AAA", T0, 10.0), bar("AAA", T0 + 1000, 11.0)]

    assert market.warm({"AAA": stored, "CCC": [bar("CCC", T0, 1.0)]}) == 2

    assert [f["kind"] for f in frames(early)] == ["status"]  # nothing sent, no sequence number used
    assert hub.last_seq(bar_topic("AAA")) == 0
    assert hub.status(bar_topic("AAA")) == (
        Status.STALE, "waiting for the first data (no bars since 2023-11-14T22:13:22Z)",
    )  # fmt: skip
    assert market.last_end_ms == T0 + 2000  # a reopened replay goes on after the stored bars
    joiner = Outbox()
    await hub.subscribe(bar_topic("AAA"), joiner)
    (snapshot,) = [f for f in frames(joiner) if f["kind"] == "snapshot"]
    assert (snapshot["seq"], [b["c"] for b in snapshot["data"]["bars"]]) == (0, [10.0, 11.0])

    await market.pump(records(encode_bar(bar("AAA", T0 + 2000, 12.0))))
    assert hub.status(bar_topic("AAA"))[0] is Status.LIVE
    assert [f["data"]["c"] for f in frames(joiner) if f["kind"] == "delta"] == [12.0]
    assert market.warm({"AAA": stored}) == 0  # a topic with bars is left alone


async def test_a_failing_feed_turns_the_topics_stale_and_is_opened_again() -> None:
    hub = Hub()
    market = MarketBroadcast(hub, ["AAA"], backoff=Backoff(0.01, 0.05))
    openings: list[int] = []

    @contextlib.asynccontextmanager
    async def feed(not_before_ms: int) -> AsyncIterator[AsyncIterable[Message]]:
        openings.append(not_before_ms)
        if len(openings) <= 2:
            raise ConnectionError("broker unreachable")
        yield records(encode_bar(bar("AAA", T0 + 1000 * len(openings), 10.0)))

    outbox = Outbox()
    await hub.subscribe(bar_topic("AAA"), outbox)
    following = asyncio.create_task(market.follow(feed))
    await eventually(lambda: market.published >= 2, what="bars after the failures")
    following.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await following

    statuses = [f["data"] for f in frames(outbox) if f["kind"] == "status"]
    assert statuses[0] == {"state": "stale", "detail": "waiting for the first data"}
    assert statuses[1] == {"state": "stale", "detail": "feed failed: ConnectionError: broker unreachable"}
    assert statuses[2] == {"state": "live", "detail": ""}
    assert openings[:4] == [0, 0, 0, T0 + 4000]  # reopened after the last window it published


async def test_the_replay_ticks_in_real_time_and_loops_forward_in_time() -> None:
    hub = Hub()
    market = MarketBroadcast(hub, ["AAA", "BBB"])
    replay = ReplayFeed(lambda: synthetic_market_bars(["AAA", "BBB"], seed=3, days=60), speed=30, warmup=0)
    outbox = Outbox()
    await hub.subscribe(bar_topic("AAA"), outbox)
    outbox.take_nowait()
    loop = asyncio.get_running_loop()
    started = loop.time()

    following = asyncio.create_task(market.follow(replay))
    await eventually(lambda: replay.openings >= 3, timeout=15, what="two passes over the bars")
    elapsed = loop.time() - started
    following.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await following

    deltas = [f["data"] for f in frames(outbox) if f["kind"] == "delta"]
    first_revisions = [d["t"] for d in deltas if d["r"] == 0 and not d.get("f")]
    assert len(first_revisions) >= 3
    assert first_revisions == sorted(set(first_revisions))  # each window once, time only goes forward
    assert all(d["l"] <= min(d["o"], d["c"]) and d["h"] >= max(d["o"], d["c"]) for d in deltas)
    assert elapsed >= 3.5  # 60 trading days at 30 a second, twice: paced, not as fast as possible


async def test_a_topic_without_bars_turns_stale_naming_its_last_bars_time_and_live_with_the_next() -> None:
    now = [1_800_000_000.0]
    hub = Hub()
    market = MarketBroadcast(hub, ["AAA", "BBB"], stale_after=5.0, clock=lambda: now[0])
    outbox = Outbox()
    await hub.subscribe(bar_topic("AAA"), outbox)
    await market.pump(records(encode_bar(bar("AAA", T0, 10.0))))
    now[0] += 4.9
    market.check()
    live_at_4_9 = hub.status(bar_topic("AAA"))
    now[0] += 0.2
    market.check()
    silent = hub.status(bar_topic("AAA"))
    market.mark_stale("feed failed: ConnectionError: gone")
    failed = hub.status(bar_topic("AAA")), hub.status(bar_topic("BBB"))
    await market.pump(records(encode_bar(bar("AAA", T0 + 1000, 11.0))))

    assert live_at_4_9 == (Status.LIVE, "")
    assert silent == (Status.STALE, "no bars since 2027-01-15T08:00:00Z")
    assert failed == (
        (Status.STALE, "feed failed: ConnectionError: gone (no bars since 2027-01-15T08:00:00Z)"),
        (Status.STALE, "feed failed: ConnectionError: gone"),  # BBB never had a bar
    )
    assert hub.status(bar_topic("AAA")) == (Status.LIVE, "")
    states = [(f["data"]["state"], f["data"]["detail"]) for f in frames(outbox) if f["kind"] == "status"]
    assert [state for state, _ in states] == ["stale", "live", "stale", "stale", "live"]
