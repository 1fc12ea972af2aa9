"""The app's competitions: a lifespan task that runs :class:`quanta.competitions.lifecycle.CompetitionHost`
on this worker's hub, so every open leaderboard (``competition.<id>.board`` on ``/live/ws``) moves as the
entries' scores change.

- every worker declares the board topics (``watch``); one worker leads — the only one, or, with
  ``QUANTA_REDIS_URL``, the holder of the ``competitions`` Redis lease — and runs the lifecycle and the
  scoring (``lead``); the others relay its deltas;
- a replay competition's market is its window of stored bars replayed on an in-process bus; a live one
  reads ``quanta.bars.<interval>`` and ``quanta.fills`` on Kafka (``QUANTA_KAFKA_BOOTSTRAP``); without
  Kafka a live competition has no market here and its board stays at the starting capital;
- accepted entries trade on a paper desk (``quanta.paper.PaperDesk``) on that market;
- with ``QUANTA_FLINK_SCORES`` a live competition on Kafka is scored by the Flink scores job, started for
  the run and stopped at its end (``scores_for``); the host then only follows ``quanta.scores`` (its own
  scorer still computes the frozen final ranking). Replay competitions always score in process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from functools import lru_cache
from typing import Any

from pipelines.flink.launch import latest_checkpoint, start_scores_job
from pipelines.flink.scores import ScoredCompetition, ScoresJobConfig, input_topics, write_competitions
from pipelines.kafka import KafkaTransport, ensure_topics
from quanta.aio import cancel_and_wait
from quanta.broadcast import RedisLease
from quanta.competitions.lifecycle import CompetitionHost, Plan, replay_market
from quanta.paper.desk import PaperDesk
from quanta.settings import Settings, get_settings
from quanta.streaming import Topics, Transport
from quanta_app.live import live_hub, live_market
from quanta_app.paper import app_market

log = logging.getLogger(__name__)
FLINK_CHECKPOINT_MS = 2_000
"""The Flink scores job's checkpoint interval: its scores are committed, and the board moves, this often."""


@contextlib.asynccontextmanager
async def market_for(plan: Plan) -> AsyncIterator[tuple[Transport, Topics]]:
    """The market a competition's entries trade on and are valued on."""
    settings = get_settings()
    if plan.replay_start is not None and plan.replay_end is not None:
        async with replay_market(plan, settings) as market:
            yield market
        return
    if settings.kafka_bootstrap:
        kafka = KafkaTransport(settings.kafka_bootstrap, client_id=f"competition-{plan.competition}")
        try:
            yield kafka, Topics()
        finally:
            await kafka.aclose()
        return
    unfed = sorted(set(plan.symbols) - set(live_market().symbols))
    if unfed:
        log.warning(
            "live competition %s: no live bars for %s (add them to QUANTA_LIVE_SYMBOLS)",
            plan.competition,
            unfed,
        )
    async with app_market(settings) as market:  # the app's live bars, as the paper desk gets them
        yield market


def desk_for(transport: Transport, topics: Topics) -> Any:
    """A paper desk for a competition's entries on its market."""
    return PaperDesk(transport, topics, get_settings(), group="quanta-competitions")


def scores_for(
    plan: Plan, transport: Transport, topics: Topics, *, settings: Settings | None = None
) -> AbstractAsyncContextManager[None] | None:
    """The Flink scores job for a competition whose market is Kafka, with ``QUANTA_FLINK_SCORES``;
    None (score in process) otherwise."""
    settings = settings or get_settings()
    if settings.flink_scores and settings.kafka_bootstrap and isinstance(transport, KafkaTransport):
        return flink_scores(plan, topics, settings)
    return None


@contextlib.asynccontextmanager
async def flink_scores(plan: Plan, topics: Topics, settings: Settings) -> AsyncIterator[None]:
    """Run the Flink scores job for one competition while the context is open (files under
    ``var/flink/competitions/<id>/``; a restarted run resumes from the job's latest checkpoint)."""
    folder = settings.var_dir.resolve() / "flink" / "competitions" / plan.competition
    competition = ScoredCompetition(id=plan.competition, accounts=tuple(plan.accounts), rules=plan.rules)
    name = f"quanta-flink-scores-{plan.competition}"
    config = ScoresJobConfig(
        bootstrap=settings.kafka_bootstrap or "",
        competitions=write_competitions(folder / "competitions.json", [competition]),
        namespace=topics.namespace,
        group_id=name,
        transactional_id_prefix=name,
        checkpoint_dir=folder / "checkpoints",
        checkpoint_interval_ms=FLINK_CHECKPOINT_MS,
        restore_from=latest_checkpoint(folder / "checkpoints"),
    )
    await ensure_topics(config.bootstrap, [*input_topics(config, [competition]), config.scores_topic])
    job = await asyncio.to_thread(start_scores_job, config, log_dir=folder / "logs")
    try:
        yield
    finally:
        if not job.running:
            log.error("the Flink scores job of %s exited early:\n%s", plan.competition, job.tail(2000))
        await asyncio.to_thread(job.stop)


@lru_cache(maxsize=1)
def competition_host() -> CompetitionHost:
    """This worker's competitions on its hub."""
    return CompetitionHost(
        live_hub(), get_settings(), market_for=market_for, desk_for=desk_for, scores_for=scores_for
    )


@contextlib.asynccontextmanager
async def run_competitions() -> AsyncIterator[None]:
    """Lifespan task: declare the boards on every worker; lead the competitions on one."""
    settings, host = get_settings(), competition_host()
    tasks = [asyncio.create_task(host.watch(), name="competitions-watch")]
    if settings.redis_url:
        lease = RedisLease(settings.redis_url, "competitions")
        tasks.append(asyncio.create_task(lease.run(host.lead), name="competitions-lead"))
    else:
        tasks.append(asyncio.create_task(host.lead(), name="competitions-lead"))
    try:
        yield
    finally:
        await cancel_and_wait(*tasks)
