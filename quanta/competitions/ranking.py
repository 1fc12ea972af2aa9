"""Ranking: the latest score of each entry, ordered by the competition's tie-break rule.

**The rule** (docs/competitions.md), applied in this order until two entries differ:

1. entries within the rules before disqualified ones (drawdown over the limit);
2. entries with a score before those whose score is still undefined (e.g. Sharpe before two marks);
3. the higher score;
4. the higher return;
5. the smaller maximum drawdown;
6. the earlier entry (the order in which entries were made);
7. the entry id (a last, arbitrary but fixed, resort).

So every rank is distinct. :class:`Leaderboard` keeps, per entry, the score event with the highest
revision: whatever order the events arrive in, the same events give the same ranking.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from quanta.competitions.events import ScoreEvent

__all__ = ["Leaderboard", "Ranked", "rank"]


@dataclass(frozen=True, slots=True)
class Ranked:
    """An entry's place and the score it holds it with."""

    rank: int
    event: ScoreEvent


def _order_key(event: ScoreEvent, entered: Mapping[str, int]) -> tuple[object, ...]:
    defined = event.score is not None
    return (
        event.disqualified,
        not defined,
        -(event.score or 0.0),
        -event.return_pct,
        event.max_drawdown_pct,
        entered.get(event.entry, 2**62),
        event.entry,
    )


def rank(events: Iterable[ScoreEvent], *, entered: Mapping[str, int] | None = None) -> list[Ranked]:
    """``events`` (one per entry) in rank order; ``entered`` maps an entry to its entry order."""
    order = entered or {}
    ordered = sorted(events, key=lambda event: _order_key(event, order))
    return [Ranked(rank=index, event=event) for index, event in enumerate(ordered, start=1)]


class Leaderboard:
    """The latest score of each entry (highest revision wins) and the ranking they make."""

    def __init__(self, *, entered: Mapping[str, int] | None = None) -> None:
        self.entered = dict(entered or {})
        self._latest: dict[str, ScoreEvent] = {}

    def apply(self, event: ScoreEvent) -> bool:
        """Take a score; whether it is newer than the entry's current one."""
        current = self._latest.get(event.entry)
        if current is not None and current.rev >= event.rev:
            return False
        self._latest[event.entry] = event
        return True

    def latest(self) -> dict[str, ScoreEvent]:
        """Each entry's current score."""
        return dict(self._latest)

    def ranking(self) -> list[Ranked]:
        """The entries in rank order."""
        return rank(self._latest.values(), entered=self.entered)
