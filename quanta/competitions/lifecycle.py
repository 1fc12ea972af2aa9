"""Running the competitions of an app: the lifecycle, one scoring run per running competition, the boards.

:class:`CompetitionHost` does two things, each a loop:

- :meth:`~CompetitionHost.watch` (every app worker): declares the hub topic ``competition.<id>.board`` of
  every competition, so any worker can serve its subscribers; a finished competition's topic starts from
  its frozen final ranking;
- :meth:`~CompetitionHost.lead` (one worker: the only one, or the holder of a Redis lease): settles
  entry validations, starts competitions whose start has come (``service.advance``), and runs each
  running competition until its end — its market (``market_for``), its entries on a paper desk
  (``desk_for``, when given), a :class:`~quanta.competitions.runner.ScoreJob` and the board — then
  freezes the final ranking with each entry's receipt and publishes it as the board's last delta.

``scores_for`` (when given) may hand a run's scoring to an outside job (the app's Flink scores job): the
context manager it returns runs that job for the run, and the host's ``ScoreJob`` then computes without
publishing — the board follows the outside job's scores, and the final ranking and receipts are still
the host's recomputation from the fills and bars.

A replay competition's market is :func:`replay_market`: the stored daily bars of its window, replayed
from its start as live bars, one trading day per bar of the competition's interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from quanta import db
from quanta.broadcast import Hub
from quanta.competitions.board import BoardView, EntryLabel, LiveBoard, board_topic
from quanta.competitions.models import Competition, CompetitionStatus, EntryStatus
from quanta.competitions.ranking import Leaderboard, Ranked, rank
from quanta.competitions.runner import ScoreJob, follow_scores
from quanta.competitions.scoring import ScoringRules
from quanta.competitions.service import (
    advance,
    competition_by_public_id,
    entries_of,
    finish_competition,
    list_competitions,
    scoring_rules,
    usernames,
)
from quanta.paper.events import OrderKind
from quanta.paper.models import PaperCosts, PaperSpec
from quanta.settings import Settings
from quanta.streaming.bus import InProcessBus
from quanta.streaming.events import Tick
from quanta.streaming.transport import Topics, Transport

__all__ = ["CompetitionHost", "Plan", "ScoresFor", "replay_market"]

log = logging.getLogger(__name__)
Market = AbstractAsyncContextManager[tuple[Transport, Topics]]
DESK_CLOSE_SECONDS = 10.0
END_GRACE_SECONDS = 5.0
"""How long after its end a competition waits for the bars of its last windows."""


@dataclass(frozen=True, kw_only=True)
class Plan:
    """What one competition's run needs, read from the database once."""

    competition: str
    rules: ScoringRules
    symbols: tuple[str, ...]
    replay_start: date | None
    replay_end: date | None
    entered: dict[str, int]
    labels: dict[str, EntryLabel]
    sources: dict[str, tuple[str, str | None]] = field(repr=False)
    """Per entry: its frozen source and strategy class (None: the one the module defines)."""
    commission: float = 0.0
    slippage: float = 0.0
    order_types: tuple[str, ...] = ("market",)
    """The order types entries may use (the others stop an entry's account with the reason)."""
    entries_ready: asyncio.Event = field(default_factory=asyncio.Event, repr=False, compare=False)
    """Set once every entry's runner is up: a replay holds its ticks until then, so an entry whose
    sandboxed runner starts slowly misses no bar (the replay then catches up with the clock)."""

    @property
    def accounts(self) -> list[str]:
        """The accepted entries (each one's paper-trading account)."""
        return list(self.entered)


MarketFor = Callable[[Plan], Market]
DeskFor = Callable[[Transport, Topics], Any]
ScoresFor = Callable[[Plan, Transport, Topics], AbstractAsyncContextManager[None] | None]
"""An outside scores job for a run (running while the context manager is open), or None: score here."""


class CompetitionHost:
    """The app's competitions on ``hub`` (see the module docstring)."""

    def __init__(
        self,
        hub: Hub,
        settings: Settings,
        *,
        market_for: MarketFor,
        desk_for: DeskFor | None = None,
        scores_for: ScoresFor | None = None,
        poll: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.hub = hub
        self.settings = settings
        self.market_for = market_for
        self.desk_for = desk_for
        self.scores_for = scores_for
        self.poll = poll
        self.clock = clock
        self.runs: dict[str, asyncio.Task[None]] = {}
        self.finished: list[str] = []

    # ---- every worker: the topics ----------------------------------------------------------------------

    async def watch(self) -> None:
        """Declare every competition's board topic, for ever."""
        while True:
            for public_id, rows in await asyncio.to_thread(self._boards):
                view = BoardView(rows=rows, final=True) if rows is not None else BoardView()
                self.hub.declare(board_topic(public_id), view=view)
            await asyncio.sleep(self.poll)

    def _boards(self) -> list[tuple[str, list[dict[str, Any]] | None]]:
        """The competitions whose board is not declared yet, with the frozen rows of finished ones."""
        with db.session(self.settings) as unit:
            boards = []
            for competition in list_competitions(session=unit, limit=500):
                if self.hub.declared(board_topic(competition.public_id)):
                    continue
                final = competition.status is CompetitionStatus.FINISHED
                boards.append((competition.public_id, _final_rows(unit, competition) if final else None))
            return boards

    # ---- one worker: lifecycle and runs ----------------------------------------------------------------

    async def lead(self) -> None:
        """Move competitions through their lifecycle and run the running ones, for ever."""
        try:
            while True:
                for plan in await asyncio.to_thread(self._advance):
                    if plan.competition not in self.runs:
                        task = asyncio.create_task(self.run(plan), name=f"competition-{plan.competition}")
                        task.add_done_callback(self._ended)
                        self.runs[plan.competition] = task
                await asyncio.sleep(self.poll)
        finally:
            running = list(self.runs.values())
            for task in running:
                task.cancel()
            for task in running:
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def _ended(self, task: asyncio.Task[None]) -> None:
        """A run ended: forget it; if it failed, say why (the next round starts it again)."""
        name = task.get_name().removeprefix("competition-")
        self.runs.pop(name, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("competition %s failed; it restarts", name, exc_info=task.exception())

    def _advance(self) -> list[Plan]:
        """Advance the upcoming and running competitions; plans of the running ones."""
        now = datetime.fromtimestamp(self.clock(), tz=UTC)
        plans = []
        with db.session(self.settings) as unit:
            for competition in list_competitions(session=unit, limit=500):
                if competition.status is CompetitionStatus.FINISHED:
                    continue
                if advance(session=unit, competition=competition, now=now) is CompetitionStatus.RUNNING:
                    plans.append(_plan(unit, competition))
        return plans

    async def run(self, plan: Plan) -> None:
        """Run one competition until its end, then freeze and publish its final ranking."""
        topic = board_topic(plan.competition)
        self.hub.declare(topic, view=BoardView())
        live = LiveBoard(plan.labels)
        board = Leaderboard(entered=plan.entered)

        async def publish(ranking: list[Ranked]) -> None:
            delta = live.delta(ranking)
            if delta is not None:
                await self.hub.publish(topic, delta)

        async with (
            self.market_for(plan) as (transport, topics),
            self._outside_scores(plan, transport, topics) as outside,
        ):
            job = ScoreJob(
                transport, topics, plan.competition, plan.rules, plan.accounts, publishes=not outside
            )
            tasks = [
                asyncio.create_task(job.run()),
                asyncio.create_task(follow_scores(transport, topics, plan.competition, board, publish)),
            ]
            await publish(rank(job.scorer.events(), entered=plan.entered))  # every entry shows from the start
            try:
                desk = await self._open_desk(plan, transport, topics)
            finally:
                plan.entries_ready.set()
            try:
                await asyncio.sleep(max(0.0, plan.rules.end_ms / 1000 - self.clock()))
                await self._last_window(job, plan)
            finally:
                if desk is not None:
                    await self._close_desk(plan, desk)
                job.stop()
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        ranking = rank(job.scorer.events(), entered=plan.entered)
        await asyncio.to_thread(self._finish, plan, ranking, job.receipts())
        delta = live.delta(ranking, final=True)
        await self.hub.publish(topic, delta or {"rows": [], "final": True})
        self.finished.append(plan.competition)

    @contextlib.asynccontextmanager
    async def _outside_scores(self, plan: Plan, transport: Transport, topics: Topics) -> AsyncIterator[bool]:
        """Whether an outside job scores this run (``scores_for``); it runs while the context is open."""
        outside = None if self.scores_for is None else self.scores_for(plan, transport, topics)
        if outside is None:
            yield False
            return
        async with outside:
            yield True

    async def _last_window(self, job: ScoreJob, plan: Plan) -> None:
        """At the end, wait for the bar of the last window before it (bars fire a little after their
        window closes), at most ``END_GRACE_SECONDS`` and one interval: a market without it ends there."""
        width = plan.rules.width_ms
        last = (plan.rules.end_ms - 1) // width * width
        deadline = self.clock() + END_GRACE_SECONDS + width / 1000
        marks = job.scorer.timeline.marks
        while not (marks and marks[-1] >= last) and self.clock() < deadline:
            await asyncio.sleep(0.05)

    async def _open_desk(self, plan: Plan, transport: Transport, topics: Topics) -> Any:
        if self.desk_for is None or not plan.accounts:
            return None
        desk = self.desk_for(transport, topics)
        try:
            for account, spec in _specs(plan).items():
                await desk.add(account, spec)
        except Exception:  # a desk that cannot start must not stop the scoring (entries just do not trade)
            log.exception("the paper desk of competition %s failed to start", plan.competition)
        return desk

    async def _close_desk(self, plan: Plan, desk: Any) -> None:
        """Take the entries off the desk; a desk that does not close in time is left behind (logged)."""
        try:
            await asyncio.wait_for(desk.aclose(), DESK_CLOSE_SECONDS)
        except TimeoutError:
            log.error(
                "the paper desk of competition %s did not close within %s s",
                plan.competition,
                DESK_CLOSE_SECONDS,
            )

    def _finish(self, plan: Plan, ranking: list[Ranked], receipts: dict[str, dict[str, Any]]) -> None:
        with db.session(self.settings) as unit:
            competition = competition_by_public_id(session=unit, public_id=plan.competition)
            if competition.status is CompetitionStatus.RUNNING:
                finish_competition(session=unit, competition=competition, ranking=ranking, receipts=receipts)


def _plan(unit: Any, competition: Competition) -> Plan:
    accepted = [
        e for e in entries_of(session=unit, competition=competition) if e.status is EntryStatus.ACCEPTED
    ]
    names = usernames(session=unit, user_ids=[e.user_id for e in accepted])
    rules = scoring_rules(competition)
    return Plan(
        competition=competition.public_id,
        rules=rules,
        symbols=tuple(competition.symbols),
        replay_start=competition.replay_start,
        replay_end=competition.replay_end,
        entered={e.public_id: index for index, e in enumerate(accepted)},
        labels={
            e.public_id: EntryLabel(user=names.get(e.user_id, ""), title=e.strategy_title) for e in accepted
        },
        sources={e.public_id: (e.source, e.class_name) for e in accepted},
        commission=competition.commission,
        slippage=competition.slippage_bps / 10_000,
        order_types=tuple(competition.order_types),
    )


def _final_rows(unit: Any, competition: Competition) -> list[dict[str, Any]]:
    """The frozen ranking as board rows."""
    entries = [e for e in entries_of(session=unit, competition=competition) if e.final_rank is not None]
    names = usernames(session=unit, user_ids=[e.user_id for e in entries])
    rows = []
    for entry in sorted(entries, key=lambda e: e.final_rank or 0):
        receipt = entry.receipt or {}
        receipt_equity = receipt.get("equity", competition.capital)
        rows.append(
            {
                "id": entry.public_id,
                "user": names.get(entry.user_id, ""),
                "title": entry.strategy_title,
                "rank": entry.final_rank,
                "score": entry.final_score,
                "ret": entry.final_return_pct,
                "dd": entry.final_max_drawdown_pct,
                "sharpe": entry.final_sharpe,
                "trades": entry.final_trades or 0,
                "t": receipt.get("as_of_ms", 0),
                "eq": receipt_equity,
                "dq": False,
            }
        )
    return rows


def _specs(plan: Plan) -> dict[str, Any]:
    """Each entry's paper-desk deployment: its frozen source on the universe, the competition's costs."""
    costs = PaperCosts(commission=plan.commission, slippage=plan.slippage)
    return {
        account: PaperSpec(
            source=source,
            class_name=class_name,
            symbols=plan.symbols,
            interval=plan.rules.interval,
            capital=plan.rules.capital,
            costs=costs,
            order_kinds=tuple(OrderKind(kind) for kind in plan.order_types),
        )
        for account, (source, class_name) in plan.sources.items()
    }


class _EndingReplay:
    """A replay that ends the ticks topic after its last tick (an ``ExchangeAdapter``)."""

    name = "competition-replay"

    def __init__(self, replay: Any, bus: InProcessBus, topics: Topics, ready: asyncio.Event) -> None:
        self._replay, self._bus, self._topics, self._ready = replay, bus, topics, ready

    async def stream(self) -> AsyncIterator[Tick]:
        """Once the entries are ready, the replay's ticks; then the bar job is told the input ended (it
        fires the last windows)."""
        await self._ready.wait()
        async for tick in self._replay.stream():
            yield tick
        self._bus.end_topic(self._topics.ticks)

    async def aclose(self) -> None:
        """Stop the replay."""
        await self._replay.aclose()


@contextlib.asynccontextmanager
async def replay_market(
    plan: Plan, settings: Settings, *, clock: Callable[[], float] = time.time
) -> AsyncIterator[tuple[Transport, Topics]]:
    """The stored bars of the competition's window replayed from its start on an in-process bus, one
    trading day per bar of its interval (a restarted app catches up at once, then follows the clock).
    When the window's last tick is out, the ticks topic ends, so the bar job fires the last windows."""
    from quanta import data  # noqa: PLC0415 - the market store only when a replay runs
    from quanta.streaming import BarConfig, EmbeddedMarket, TickReplay, load_bars, replay_ticks  # noqa: PLC0415

    def load() -> Any:
        con = data.connect(settings, read_only=True)
        try:
            return load_bars(con, list(plan.symbols), start=plan.replay_start, end=plan.replay_end)
        finally:
            con.disconnect()

    bars = await asyncio.to_thread(load)
    width = plan.rules.width_ms
    origin = -(-plan.rules.start_ms // width) * width
    replay = TickReplay(
        replay_ticks(bars, seed=7, origin_ms=origin, speed=1000 / width), pace_origin_ms=int(clock() * 1000)
    )
    bus, topics = InProcessBus(), Topics()

    config = BarConfig(intervals=(plan.rules.interval,))
    source = _EndingReplay(replay, bus, topics, plan.entries_ready)
    async with EmbeddedMarket(source, config=config, topics=topics, bus=bus):
        yield bus, topics
