"""Competitions: organisers set the terms, people enter frozen strategy versions, the entries are scored
from their fills and the prices as they arrive, and a final ranking is frozen with each entry's receipt.

```python
with db.session() as unit:
    competition = create_competition(session=unit, actor=admin, competition_in=CompetitionCreate(...))
    entry = enter(session=unit, actor=me, competition=competition, strategy_id="st_…", version=3)
scorer = CompetitionScorer(competition.public_id, scoring_rules(competition), [entry.public_id])
events = scorer.on_fill(fill) + scorer.on_bar(bar)      # ScoreEvents for the entries that changed
board = Leaderboard(); [board.apply(e) for e in events]; board.ranking()
```

Tables and value objects in ``quanta.competitions.models``, use cases in ``quanta.competitions.service``,
the score records in ``quanta.competitions.events``, scoring in ``.scoring``, the tie-break rule in
``.ranking``, the streaming runner in ``.runner``, the live board in ``.board`` and the app's competitions
(lifecycle, runs) in ``.lifecycle``. See docs/competitions.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from quanta.competitions.events import ScoreEvent, decode_score, encode_score
from quanta.competitions.ranking import Leaderboard, Ranked, rank
from quanta.competitions.scoring import CompetitionScorer, Figures, Metric, ScoringRules, score_batch

if TYPE_CHECKING:
    from quanta.competitions.models import (
        Badge,
        Competition,
        CompetitionCreate,
        CompetitionPublic,
        CompetitionStatus,
        EntryPublic,
        EntryStatus,
        Mode,
        StoredEntry,
    )

# The tables (SQLModel) load on first use, so that scoring, ranking and the score records import without
# the database stack (the Flink scores job runs them in ``.venv-flink``, which has no SQLModel).
_MODELS = frozenset(
    {
        "Badge",
        "Competition",
        "CompetitionCreate",
        "CompetitionPublic",
        "CompetitionStatus",
        "EntryPublic",
        "EntryStatus",
        "Mode",
        "StoredEntry",
    }
)

__all__ = [
    "Badge",
    "Competition",
    "CompetitionCreate",
    "CompetitionPublic",
    "CompetitionScorer",
    "CompetitionStatus",
    "EntryPublic",
    "EntryStatus",
    "Figures",
    "Leaderboard",
    "Metric",
    "Mode",
    "Ranked",
    "ScoreEvent",
    "ScoringRules",
    "StoredEntry",
    "decode_score",
    "encode_score",
    "rank",
    "score_batch",
]


def __getattr__(name: str) -> Any:
    if name not in _MODELS:
        raise AttributeError(f"module 'quanta.competitions' has no attribute {name!r}")
    value = getattr(importlib.import_module("quanta.competitions.models"), name)
    globals()[name] = value
    return value
