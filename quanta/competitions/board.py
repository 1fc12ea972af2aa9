"""The live leaderboard on the broadcast hub: one topic per competition, ``competition.<id>.board``.

A delta carries only the rows that changed since the previous one (a row changes when its figures or its
rank do), plus ``"final": true`` once the ranking is frozen::

    {"rows": [{"id": "en_…", "user": "ada", "title": "SMA cross", "rank": 1, "score": 1.9, "ret": 2.5,
               "dd": 0.8, "sharpe": 1.9, "trades": 4, "t": 1700000004000, "eq": 102500.0, "dq": false}],
     "final": false}

Every row carries its mark time ``t`` and equity ``eq``: that is one point of the entry's equity curve
(a later point for the same or an earlier time replaces the points from there on, as a recomputed mark
does). The snapshot (:class:`BoardView`) is the rows in rank order and the last ``keep`` points of
each entry's curve, built from the deltas alone — so with several workers, whose hubs receive the same
deltas through Redis, every worker serves the same snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from quanta.competitions.ranking import Ranked

__all__ = ["BoardView", "EntryLabel", "LiveBoard", "board_topic"]

Row = dict[str, Any]


def board_topic(competition: str) -> str:
    """The hub topic of a competition's leaderboard (public: ``competition.`` topics need no session)."""
    return f"competition.{competition}.board"


@dataclass(frozen=True, slots=True)
class EntryLabel:
    """How an entry is shown: its person and strategy."""

    user: str
    title: str


def row_of(ranked: Ranked, label: EntryLabel | None) -> Row:
    """One leaderboard row (JSON-ready)."""
    event = ranked.event
    return {
        "id": event.entry,
        "user": label.user if label else "",
        "title": label.title if label else "",
        "rank": ranked.rank,
        "score": event.score,
        "ret": event.return_pct,
        "dd": event.max_drawdown_pct,
        "sharpe": event.sharpe,
        "trades": event.trades,
        "t": event.ts,
        "eq": event.equity,
        "dq": event.disqualified,
    }


class LiveBoard:
    """Turns successive rankings into deltas of the rows that changed."""

    def __init__(self, labels: Mapping[str, EntryLabel]) -> None:
        self.labels = dict(labels)
        self._sent: dict[str, Row] = {}

    def delta(self, ranking: Sequence[Ranked], *, final: bool = False) -> dict[str, Any] | None:
        """The rows of ``ranking`` that differ from the last delta's (None if nothing changed)."""
        changed = []
        for ranked in ranking:
            row = row_of(ranked, self.labels.get(ranked.event.entry))
            if self._sent.get(row["id"]) != row:
                self._sent[row["id"]] = row
                changed.append(row)
        if not changed and not final:
            return None
        return {"rows": changed, "final": final}


class BoardView:
    """The hub view of a board topic: the latest row of each entry and its recent equity points."""

    def __init__(self, *, keep: int = 240, rows: Sequence[Row] = (), final: bool = False) -> None:
        self.keep = keep
        self.final = final
        self._rows: dict[str, Row] = {}
        self._series: dict[str, list[list[float]]] = {}
        for row in rows:
            self._take(row)

    def apply(self, data: Any) -> None:
        """Take one delta."""
        for row in data.get("rows", ()):
            self._take(row)
        self.final = self.final or bool(data.get("final"))

    def _take(self, row: Row) -> None:
        self._rows[row["id"]] = row
        points = self._series.setdefault(row["id"], [])
        while points and points[-1][0] >= row["t"]:
            points.pop()
        points.append([row["t"], row["eq"]])
        del points[: -self.keep]

    def snapshot(self) -> dict[str, Any]:
        """Rows in rank order, each entry's recent points, and whether the ranking is final."""
        rows = sorted(self._rows.values(), key=lambda row: row["rank"])
        return {
            "rows": rows,
            "series": {key: list(points) for key, points in self._series.items()},
            "final": self.final,
        }
