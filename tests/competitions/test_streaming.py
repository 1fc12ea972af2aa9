"""A leaderboard computed in streaming — fills and bars on a transport, the score job, the scores topic, the
board — equals the one recomputed in batch from the stored fills and bars; on the in-process bus and on
the session's real Kafka broker. The hub view built from the board's deltas shows the same rows."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from pipelines.kafka import KafkaTransport, ensure_topics
from quanta.competitions.board import BoardView, EntryLabel, LiveBoard, row_of
from quanta.competitions.events import ScoreEvent
from quanta.competitions.models import Metric
from quanta.competitions.ranking import Leaderboard, Ranked, rank
from quanta.competitions.runner import ScoreJob, follow_scores, receipts_of
from quanta.competitions.scoring import ScoringRules, score_batch
from quanta.paper.events import FillEvent, decode_fill, encode_fill
from quanta.streaming import Bar, InProcessBus, Topics, Transport, decode_bar, encode_bar
from tests.competitions.market import random_market

pytestmark = pytest.mark.anyio

ACCOUNTS = ["en_alpha", "en_beta", "en_gamma", "en_delta"]
ENTERED = {account: number for number, account in enumerate(ACCOUNTS)}
RULES = ScoringRules(capital=10_000.0, symbols=frozenset({"AAA", "BBB"}), metric=Metric.SHARPE)
WINDOWS = 60


def market(seed: int) -> tuple[list[Bar], list[FillEvent]]:
    """A random walk of two symbols (some windows revised) and each entry trading now and then."""
    prices = {"AAA": 100.0, "BBB": 50.0}
    return random_market(
        seed, origin_ms=1_700_000_000_000, windows=WINDOWS, prices=prices, accounts=ACCOUNTS, fill_chance=0.3
    )


async def publish_interleaved(
    transport: Transport, topics: Topics, bars: list[Bar], fills: list[FillEvent]
) -> None:
    """Bars in order per symbol and fills in order per account, the two streams interleaved at random."""
    rng = random.Random(11)
    records = [(topics.bars("1s"), b.symbol, encode_bar(b)) for b in bars]
    pending_fills = [(topics.fills, f.account, encode_fill(f)) for f in fills]
    while records or pending_fills:
        source = records if (records and (not pending_fills or rng.random() < 0.6)) else pending_fills
        topic, key, value = source.pop(0)
        await transport.publish(topic, key, value)
    await transport.flush()


async def wait_until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


@asynccontextmanager
async def transport_for(
    kind: str, request: pytest.FixtureRequest, topics: Topics
) -> AsyncIterator[Transport]:
    if kind == "bus":
        yield InProcessBus()
        return
    bootstrap = request.getfixturevalue("kafka_bootstrap")
    await ensure_topics(bootstrap, [topics.bars("1s"), topics.fills, topics.scores], partitions=3)
    kafka = KafkaTransport(bootstrap, client_id="test-competitions")
    try:
        yield kafka
    finally:
        await kafka.aclose()


async def stored(transport: Transport, topic: str, count: int) -> list[bytes]:
    """The first ``count`` records of ``topic`` as stored (read from its beginning)."""
    got: list[bytes] = []
    async with transport.subscribe(topic, from_beginning=True) as records:
        async for message in records:
            got.append(message.value)
            if len(got) == count:
                break
    return got


def figures_of(ranking: list[Ranked]) -> list[tuple[object, ...]]:
    return [
        (
            r.rank,
            r.event.entry,
            r.event.equity,
            r.event.return_pct,
            r.event.max_drawdown_pct,
            r.event.sharpe,
            r.event.sortino,
            r.event.calmar,
            r.event.trades,
            r.event.score,
            r.event.ts,
        )
        for r in ranking
    ]


def batch_ranking(bars: list[Bar], fills: list[FillEvent]) -> list[Ranked]:
    standings = score_batch(rules=RULES, accounts=ACCOUNTS, fills=fills, bars=bars)
    events = [
        ScoreEvent(
            competition="cp_t",
            entry=account,
            rev=1,
            ts=f.ts,
            marks=f.marks,
            equity=f.equity,
            return_pct=f.return_pct,
            max_drawdown_pct=f.max_drawdown_pct,
            sharpe=f.sharpe,
            sortino=f.sortino,
            calmar=f.calmar,
            trades=f.trades,
            score=f.score,
            disqualified=f.disqualified,
        )
        for account, f in standings.items()
    ]
    return rank(events, entered=ENTERED)


@pytest.mark.parametrize("kind", ["bus", pytest.param("kafka", marks=pytest.mark.kafka)])
async def test_the_streamed_leaderboard_equals_the_batch_recomputation_from_stored_fills(
    kind: str, request: pytest.FixtureRequest
) -> None:
    topics = Topics(namespace=f"test-{uuid.uuid4().hex[:8]}.")
    bars, fills = market(seed=3)
    board, view = Leaderboard(entered=ENTERED), BoardView()
    live = LiveBoard({a: EntryLabel(user=a[3:], title="t") for a in ACCOUNTS})

    async def changed(ranking: list[Ranked]) -> None:
        delta = live.delta(ranking)
        if delta:
            view.apply(delta)

    async with transport_for(kind, request, topics) as transport:
        job = ScoreJob(transport, topics, "cp_t", RULES, ACCOUNTS)
        scoring = asyncio.create_task(job.run())
        following = asyncio.create_task(follow_scores(transport, topics, "cp_t", board, changed))
        await publish_interleaved(transport, topics, bars, fills)
        await wait_until(lambda: job.records == len(bars) + len(fills))
        await wait_until(lambda: board.latest() == {e.entry: e for e in job.scorer.events()})
        job.stop()
        await scoring
        following.cancel()

        stored_bars = [decode_bar(v) for v in await stored(transport, topics.bars("1s"), len(bars))]
        stored_fills = [decode_fill(v) for v in await stored(transport, topics.fills, len(fills))]

    expected = batch_ranking(stored_bars, stored_fills)
    assert figures_of(board.ranking()) == figures_of(expected)
    assert [r.event.trades for r in expected] != [0] * len(ACCOUNTS)
    labels = {a: EntryLabel(user=a[3:], title="t") for a in ACCOUNTS}
    assert view.snapshot()["rows"] == [row_of(r, labels[r.event.entry]) for r in expected]
    assert job.receipts() == receipts_of({a: [f for f in stored_fills if f.account == a] for a in ACCOUNTS})


def test_the_board_view_keeps_one_point_per_mark_and_replaces_recomputed_ones() -> None:
    view = BoardView(keep=3)
    for t, eq in ((1, 10.0), (2, 11.0), (3, 12.0), (2, 9.0), (4, 13.0), (5, 14.0)):
        view.apply({"rows": [{"id": "en", "rank": 1, "t": t, "eq": eq}]})
    assert view.snapshot()["series"] == {"en": [[2, 9.0], [4, 13.0], [5, 14.0]]}
    view.apply({"rows": [], "final": True})
    assert view.snapshot()["final"]
