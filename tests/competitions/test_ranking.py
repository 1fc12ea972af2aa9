"""Ranking: the documented tie-break rule, and the same final ranking whatever order the score updates
arrive in (redelivered and stale updates included)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quanta.competitions.events import ScoreEvent, decode_score, encode_score
from quanta.competitions.ranking import Leaderboard, rank
from quanta.streaming.errors import MalformedEventError


def score(
    entry: str,
    rev: int = 1,
    *,
    score: float | None = 1.0,
    ret: float = 0.0,
    dd: float = 0.0,
    dq: bool = False,
) -> ScoreEvent:
    return ScoreEvent(
        competition="cp_x",
        entry=entry,
        rev=rev,
        ts=rev * 1000,
        marks=rev,
        equity=1000.0 + ret,
        return_pct=ret,
        max_drawdown_pct=dd,
        sharpe=score,
        sortino=None,
        calmar=None,
        trades=rev,
        score=score,
        disqualified=dq,
    )


def order(events: list[ScoreEvent], entered: dict[str, int] | None = None) -> list[str]:
    return [ranked.event.entry for ranked in rank(events, entered=entered)]


def test_higher_score_ranks_first_then_return_then_drawdown_then_entry_order() -> None:
    events = [
        score("late", score=2.0, ret=5.0, dd=1.0),
        score("early", score=2.0, ret=5.0, dd=1.0),
        score("shallow", score=2.0, ret=5.0, dd=0.5),
        score("richer", score=2.0, ret=6.0, dd=9.0),
        score("best", score=3.0, ret=-1.0, dd=9.0),
    ]
    assert order(events, {"early": 1, "late": 2}) == ["best", "richer", "shallow", "early", "late"]


def test_undefined_scores_follow_defined_ones_and_disqualified_entries_come_last() -> None:
    events = [score("dq", score=9.0, dq=True), score("none", score=None, ret=50.0), score("low", score=-3.0)]
    assert order(events) == ["low", "none", "dq"]


def test_ranks_are_distinct_and_start_at_one() -> None:
    assert [r.rank for r in rank([score("b"), score("a"), score("c")])] == [1, 2, 3]


def test_a_stale_revision_does_not_replace_a_newer_one() -> None:
    board = Leaderboard()
    assert board.apply(score("a", rev=2, score=5.0))
    assert not board.apply(score("a", rev=1, score=9.0))
    assert not board.apply(score("a", rev=2, score=9.0))
    assert board.latest()["a"].score == 5.0


def test_a_score_event_survives_its_wire_format() -> None:
    event = score("en_1", rev=7, score=None, ret=-2.5, dd=3.25, dq=True)
    assert decode_score(encode_score(event)) == event


@pytest.mark.parametrize(
    "record",
    [
        b"nope",
        b"[]",
        b'{"v":2}',
        b'{"v":1,"c":"cp","e":"en","r":-1}',
        b'{"v":1,"c":"cp","e":"en","r":1,"t":1,"k":1,"eq":"x"}',
    ],
)
def test_malformed_score_records_are_refused(record: bytes) -> None:
    with pytest.raises(MalformedEventError):
        decode_score(record)


figures = st.one_of(st.none(), st.sampled_from([-1.0, 0.0, 0.5, 1.0, 2.0]))


@st.composite
def updates(draw: st.DrawFn) -> list[ScoreEvent]:
    """Several revisions per entry, with deliberately many ties in every figure."""
    events = []
    for entry in ("en_a", "en_b", "en_c", "en_d", "en_e"):
        for rev in range(1, draw(st.integers(min_value=1, max_value=4)) + 1):
            events.append(  # noqa: PERF401 - each update draws
                score(
                    entry,
                    rev,
                    score=draw(figures),
                    ret=draw(st.sampled_from([-1.0, 0.0, 1.0])),
                    dd=draw(st.sampled_from([0.0, 2.0])),
                    dq=draw(st.booleans()),
                )
            )
    return events


@settings(max_examples=200, deadline=None)
@given(events=updates(), data=st.data())
def test_the_final_ranking_does_not_depend_on_the_arrival_order_of_updates(
    events: list[ScoreEvent], data: st.DataObject
) -> None:
    entered = {"en_a": 3, "en_b": 1, "en_c": 2, "en_d": 5, "en_e": 4}
    in_order = Leaderboard(entered=entered)
    for event in events:
        in_order.apply(event)
    shuffled = Leaderboard(entered=entered)
    for event in [*data.draw(st.permutations(events)), *data.draw(st.lists(st.sampled_from(events)))]:
        shuffled.apply(event)

    assert shuffled.ranking() == in_order.ranking()
