"""The streaming side of a competition: score its entries from the bars and fills on a transport, publish
the scores, and follow them into a leaderboard.

```
quanta.bars.<interval> ─┐
                        ├─► ScoreJob (CompetitionScorer) ──► quanta.scores ──► follow_scores ──► Leaderboard
quanta.fills ───────────┘        (keyed by competition)                          └─► on_change(ranking)
```

The same code runs on the in-process bus (the embedded default: the app runs both halves) and on Kafka
(``pipelines.kafka.KafkaTransport``); a Flink job may take the scoring half when scaled out, since the
scores topic is the only thing the leaderboard reads. Entries trade through the paper desk
(``quanta.paper``), which publishes their fills keyed by account = entry id.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from quanta.competitions.events import ScoreEvent, decode_score, encode_score
from quanta.competitions.ranking import Leaderboard, Ranked
from quanta.competitions.scoring import CompetitionScorer, ScoringRules
from quanta.paper.events import FillEvent, decode_fill, encode_fill
from quanta.receipt import canonical_json
from quanta.streaming.errors import MalformedEventError
from quanta.streaming.schema import decode_bar
from quanta.streaming.transport import Topics, Transport

__all__ = ["ScoreJob", "follow_scores", "receipts_of"]

log = logging.getLogger(__name__)
ScoresCallback = Callable[[list[ScoreEvent]], Awaitable[None]]


class ScoreJob:
    """Scores one competition's entries from the bars and fills of ``transport`` and publishes every
    change to ``topics.scores`` (keyed by the competition).

    Both topics are read from their beginning, so a restarted job rebuilds the same standings. With
    ``publishes=False`` it only computes (another job, such as the Flink scores job, publishes the
    scores): its standings and receipts are still there for the final ranking.
    """

    def __init__(
        self,
        transport: Transport,
        topics: Topics,
        competition: str,
        rules: ScoringRules,
        accounts: Iterable[str],
        *,
        on_scores: ScoresCallback | None = None,
        publishes: bool = True,
    ) -> None:
        self.transport = transport
        self.topics = topics
        self.scorer = CompetitionScorer(competition, rules, accounts)
        self.fills: dict[str, list[FillEvent]] = {account: [] for account in self.scorer.accounts}
        self.on_scores = on_scores
        self.publishes = publishes
        self.records = 0
        """Bar and fill records taken so far (malformed ones included)."""
        self.published = 0
        self._lock = asyncio.Lock()
        self._subscriptions: list[Any] = []

    async def run(self) -> None:
        """Score until both input topics end (the bus) or the job is cancelled."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._follow(self.topics.bars(self.scorer.rules.interval), self._bar))
            group.create_task(self._follow(self.topics.fills, self._fill))

    async def _follow(self, topic: str, take: Callable[[bytes], list[ScoreEvent]]) -> None:
        async with self.transport.subscribe(topic, from_beginning=True) as records:
            self._subscriptions.append(records)
            async for message in records:
                try:
                    events = take(message.value)
                except MalformedEventError as exc:
                    log.warning("skipping a malformed record of %s: %s", topic, exc)
                    events = []
                self.records += 1
                if events:
                    async with self._lock:
                        await self._publish(events)

    def stop(self) -> None:
        """End :meth:`run` after the records in hand."""
        for records in self._subscriptions:
            records.stop()

    def _bar(self, value: bytes) -> list[ScoreEvent]:
        return self.scorer.on_bar(decode_bar(value))

    def _fill(self, value: bytes) -> list[ScoreEvent]:
        fill = decode_fill(value)
        if fill.account in self.fills:
            self.fills[fill.account].append(fill)
        return self.scorer.on_fill(fill)

    async def _publish(self, events: list[ScoreEvent]) -> None:
        if self.publishes:
            key = self.scorer.competition
            for event in events:
                await self.transport.publish(
                    self.topics.scores, key, encode_score(event), timestamp_ms=event.ts
                )
            await self.transport.flush()
            self.published += len(events)
        if self.on_scores is not None:
            await self.on_scores(events)

    def receipts(self) -> dict[str, dict[str, Any]]:
        """Per entry: the number of its fills and the sha256 of them (canonical JSON, in time order)."""
        return receipts_of(self.fills)


def receipts_of(fills: Mapping[str, Iterable[FillEvent]]) -> dict[str, dict[str, Any]]:
    """The fill part of each entry's receipt: how many fills, and their sha256 in ``(ts, seq)`` order
    (anyone holding the fills topic can recompute the score from exactly these fills)."""
    receipts = {}
    for account, entry_fills in fills.items():
        unique = {fill.fill_id: fill for fill in entry_fills}
        ordered = sorted(unique.values(), key=lambda f: (f.ts, f.seq, f.fill_id))
        digest = hashlib.sha256(
            canonical_json([encode_fill(f).decode() for f in ordered]).encode()
        ).hexdigest()
        receipts[account] = {"fills": len(ordered), "fills_sha256": digest}
    return receipts


async def follow_scores(
    transport: Transport,
    topics: Topics,
    competition: str,
    board: Leaderboard,
    on_change: Callable[[list[Ranked]], Awaitable[None]],
) -> None:
    """Apply the competition's score events (from the beginning of ``topics.scores``) to ``board`` and
    call ``on_change`` with the ranking whenever an event was newer than the entry's standing."""
    async with transport.subscribe(topics.scores, from_beginning=True) as records:
        async for message in records:
            if message.key not in (None, competition):
                continue
            try:
                event = decode_score(message.value)
            except MalformedEventError as exc:
                log.warning("skipping a malformed score: %s", exc)
                continue
            if event.competition == competition and board.apply(event):
                await on_change(board.ranking())
