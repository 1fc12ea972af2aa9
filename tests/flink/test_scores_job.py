"""The Flink scores job against the session's real Kafka broker: its committed scores equal the batch
recomputation (``score_batch``) bit for bit, each entry's revisions are 1, 2, … with none lost or twice
(also through a crash and a restore from a checkpoint), and the app's leaderboard ranks them as in batch.

The job runs in ``.venv-flink`` as a subprocess (a local mini cluster); bars and fills go in with aiokafka
on three partitions each, and the scores are read back with a ``read_committed`` consumer.
"""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import uuid
from collections import defaultdict
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer

from pipelines.flink import paths, scores
from pipelines.flink.launch import RunningJob, latest_checkpoint, start_scores_job
from pipelines.kafka import ensure_topics
from quanta.competitions.events import ScoreEvent, decode_score
from quanta.competitions.ranking import Leaderboard, rank
from quanta.competitions.scoring import Figures, Metric, ScoringRules, score_batch
from quanta.paper.events import FillEvent, encode_fill
from quanta.streaming import Bar, encode_bar
from tests.competitions.market import random_market
from tests.flink.conftest import produce, read_committed
from tests.flink.test_bars_job import wait_for_checkpoint
from tests.flink.ticks import ORIGIN_MS, Record

pytestmark = pytest.mark.anyio

WINDOWS = 40
COMPETITIONS = (
    scores.ScoredCompetition(
        id="cp_sharpe",
        accounts=("en_a", "en_b", "en_c"),
        rules=ScoringRules(capital=10_000.0, symbols=frozenset({"AAA", "BBB"}), metric=Metric.SHARPE),
    ),
    scores.ScoredCompetition(
        id="cp_dd",
        accounts=("en_d", "en_e"),
        rules=ScoringRules(
            capital=5_000.0,
            symbols=frozenset({"AAA"}),
            metric=Metric.RETURN_DRAWDOWN,
            drawdown_limit_pct=5.0,
            start_ms=ORIGIN_MS + 5_000,
            end_ms=ORIGIN_MS + 35_000,
        ),
    ),
)
TRADERS = ("en_a", "en_b", "en_c", "en_d", "en_e", "en_stranger")  # the stranger is in no competition


def market(seed: int = 5) -> tuple[list[Bar], list[FillEvent]]:
    """A random walk of AAA, BBB and CCC (in no universe), some windows revised; the traders now and then."""
    prices = {"AAA": 100.0, "BBB": 50.0, "CCC": 20.0}
    return random_market(
        seed, origin_ms=ORIGIN_MS, windows=WINDOWS, prices=prices, accounts=TRADERS, fill_chance=0.35
    )


def expected_figures(bars: list[Bar], fills: list[FillEvent]) -> dict[tuple[str, str], Figures]:
    """Every entry's standing recomputed in batch."""
    expected = {}
    for competition in COMPETITIONS:
        rules, accounts = competition.rules, competition.accounts
        standings = score_batch(rules=rules, accounts=accounts, fills=fills, bars=bars)
        expected |= {(competition.id, account): figures for account, figures in standings.items()}
    return expected


def figures_of(event: ScoreEvent) -> Figures:
    return Figures(
        ts=event.ts,
        marks=event.marks,
        equity=event.equity,
        return_pct=event.return_pct,
        max_drawdown_pct=event.max_drawdown_pct,
        sharpe=event.sharpe,
        sortino=event.sortino,
        calmar=event.calmar,
        trades=event.trades,
        score=event.score,
        disqualified=event.disqualified,
    )


@dataclasses.dataclass
class Scores:
    """The committed score records, in the order read."""

    events: list[ScoreEvent] = dataclasses.field(default_factory=list)
    keys: list[bytes | None] = dataclasses.field(default_factory=list)
    timestamps: list[int] = dataclasses.field(default_factory=list)

    def latest(self) -> dict[tuple[str, str], ScoreEvent]:
        found: dict[tuple[str, str], ScoreEvent] = {}
        for event in self.events:
            key = (event.competition, event.entry)
            if key not in found or found[key].rev < event.rev:
                found[key] = event
        return found

    def reached(self, expected: dict[tuple[str, str], Figures]) -> bool:
        latest = self.latest()
        return all(key in latest and figures_of(latest[key]) == want for key, want in expected.items())


async def read_scores(
    bootstrap: str, topic: str, expected: dict[tuple[str, str], Figures], *, timeout: float = 150.0
) -> Scores:
    """Read committed scores until every entry's latest equals ``expected``, then two seconds more."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", isolation_level="read_committed"
    )
    got = Scores()
    loop = asyncio.get_running_loop()
    await consumer.start()
    try:
        deadline, done_at = loop.time() + timeout, None
        while loop.time() < deadline and (done_at is None or loop.time() < done_at + 2.0):
            for messages in (await consumer.getmany(timeout_ms=300)).values():
                got.events += [decode_score(m.value or b"") for m in messages]
                got.keys += [m.key for m in messages]
                got.timestamps += [m.timestamp for m in messages]
            if done_at is None and got.reached(expected):
                done_at = loop.time()
    finally:
        await consumer.stop()
    return got


@pytest.fixture
def scores_config(kafka_bootstrap: str, tmp_path: Path, flink_python: Path) -> scores.ScoresJobConfig:
    """The scores job on fresh topics (three partitions in, one out), checkpointing every second."""
    namespace = f"flink-{uuid.uuid4().hex[:8]}."
    config = scores.ScoresJobConfig(
        bootstrap=kafka_bootstrap,
        competitions=scores.write_competitions(tmp_path / "competitions.json", COMPETITIONS),
        namespace=namespace,
        group_id=f"{namespace}scores",
        transactional_id_prefix=f"{namespace}scores",
        transaction_timeout_ms=60_000,
        checkpoint_dir=tmp_path / "checkpoints",
        checkpoint_interval_ms=1000,
    )
    inputs = [config.fills_topic, config.bars_topic("1s")]
    asyncio.run(ensure_topics(kafka_bootstrap, inputs, partitions=3))
    asyncio.run(ensure_topics(kafka_bootstrap, [config.scores_topic], partitions=1))
    return config


async def feed(config: scores.ScoresJobConfig, bars: list[Bar], fills: list[FillEvent], pause: float) -> None:
    """Bars and fills (and a malformed fill) at once, each in order per key; ``pause`` between batches."""
    bar_records = [Record(bar.symbol, encode_bar(bar)) for bar in bars]
    fill_records = [Record(fill.account, encode_fill(fill)) for fill in fills]
    fill_records.insert(len(fill_records) // 2, Record("en_a", b"not json{"))
    await asyncio.gather(
        produce(config.bootstrap, config.bars_topic("1s"), bar_records, batch=10, pause=pause),
        produce(config.bootstrap, config.fills_topic, fill_records, batch=5, pause=pause),
    )


def assert_scores(got: Scores, expected: dict[tuple[str, str], Figures], job: RunningJob) -> None:
    """Final figures equal batch bit for bit; revisions 1..N per entry in order (exactly once); keys and
    record times as the in-process ScoreJob writes them; the leaderboard ranks as batch does."""
    latest = got.latest()
    assert set(latest) == set(expected), job.tail()
    assert {key: figures_of(event) for key, event in latest.items()} == expected, job.tail()
    revisions: dict[tuple[str, str], list[int]] = defaultdict(list)
    for event in got.events:
        revisions[(event.competition, event.entry)].append(event.rev)
    assert all(revs == list(range(1, len(revs) + 1)) for revs in revisions.values()), dict(revisions)
    assert got.keys == [event.competition.encode() for event in got.events]
    assert got.timestamps == [event.ts for event in got.events]
    for competition in COMPETITIONS:
        board = Leaderboard(entered={account: n for n, account in enumerate(competition.accounts)})
        for event in got.events:
            if event.competition == competition.id:
                board.apply(event)
        batch = [dataclasses.replace(latest[(competition.id, a)], rev=1) for a in competition.accounts]
        assert [r.event.entry for r in board.ranking()] == [
            r.event.entry for r in rank(batch, entered=board.entered)
        ]


async def started(job: RunningJob) -> dict:
    return await asyncio.to_thread(job.wait_started)


def test_competitions_file_round_trips_every_rule_exactly(tmp_path: Path) -> None:
    path = scores.write_competitions(tmp_path / "c.json", COMPETITIONS)
    assert tuple(scores.read_competitions(path)) == COMPETITIONS


def test_competitions_file_refuses_unknown_rules_and_repeated_ids(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown scoring rule"):
        scores.rules_of({"capital": 1.0, "symbols": ["AAA"], "metrc": "sharpe"})
    with pytest.raises(ValueError, match="distinct"):
        scores.write_competitions(tmp_path / "c.json", [COMPETITIONS[0], COMPETITIONS[0]])


def test_scores_command_line_round_trips(tmp_path: Path) -> None:
    config = scores.ScoresJobConfig(
        bootstrap="h:1",
        competitions=tmp_path / "c.json",
        namespace="n.",
        checkpoint_dir=tmp_path / "chk",
        restore_from=tmp_path / "chk" / "x" / "chk-3",
        extra={"a.b": "c"},
    )
    assert scores.parse(scores.command_args(config)) == config
    sink = scores.sink_ddl(config)
    assert "'sink.delivery-guarantee' = 'exactly-once'" in sink
    assert "'topic' = 'n.quanta.scores'" in sink
    assert "'topic' = 'n.quanta.fills;n.quanta.bars.1s'" in scores.source_ddl(config, COMPETITIONS)


@pytest.mark.flink
def test_scoring_imports_in_the_flink_environment_without_the_database_stack() -> None:
    heavy = "{'sqlmodel', 'sqlalchemy', 'ibis', 'duckdb', 'reflex', 'numba', 'polars'}"
    code = (
        "import sys, quanta.competitions.scoring, quanta.competitions.ranking, quanta.competitions.events, "
        "quanta.paper.events, pipelines.flink.scores; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {heavy}))"
    )
    python = str(paths.flink_python())
    result = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False, cwd=paths.REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]", "scoring pulls the app's database stack into .venv-flink"


@pytest.mark.kafka
@pytest.mark.flink
@pytest.mark.slow
async def test_flink_scores_equal_the_batch_recompute_of_the_same_fills_and_bars(
    scores_config: scores.ScoresJobConfig, tmp_path: Path
) -> None:
    bars, fills = market()
    expected = expected_figures(bars, fills)
    job = start_scores_job(scores_config, log_dir=tmp_path / "flink")
    try:
        await feed(scores_config, bars, fills, pause=0.0)
        await started(job)
        got = await read_scores(scores_config.bootstrap, scores_config.scores_topic, expected)
    finally:
        job.stop()
    assert_scores(got, expected, job)
    assert {event.competition for event in got.events} == {"cp_sharpe", "cp_dd"}
    assert {figures.disqualified for figures in expected.values()} == {True, False}


@pytest.mark.kafka
@pytest.mark.flink
@pytest.mark.slow
async def test_flink_scores_job_killed_mid_stream_resumes_from_its_checkpoint_exactly_once(
    scores_config: scores.ScoresJobConfig, tmp_path: Path
) -> None:
    bars, fills = market()
    expected = expected_figures(bars, fills)
    first = start_scores_job(scores_config, log_dir=tmp_path / "first")
    try:
        await started(first)
        feeding = asyncio.create_task(feed(scores_config, bars, fills, pause=0.6))
        await wait_for_checkpoint(scores_config.checkpoint_dir, number=3, job=first)
        before = await read_committed(scores_config.bootstrap, {scores_config.scores_topic: 1}, linger=0)
        await asyncio.sleep(0.5)  # scores of the next checkpoint are in flight in an open transaction
        first.kill()
        assert before.total() >= 1, "nothing was committed before the crash"
        assert not feeding.done(), "the feed ended before the crash: the test did not crash mid-stream"
    finally:
        first.kill()
    checkpoint = latest_checkpoint(scores_config.checkpoint_dir)
    assert checkpoint is not None
    second = start_scores_job(
        dataclasses.replace(scores_config, restore_from=checkpoint), log_dir=tmp_path / "second"
    )
    try:
        await feeding
        await started(second)
        got = await read_scores(scores_config.bootstrap, scores_config.scores_topic, expected)
    finally:
        second.stop()
    assert f"from Savepoint {checkpoint.name.removeprefix('chk-')} " in second.tail(10**7)
    assert_scores(got, expected, second)
