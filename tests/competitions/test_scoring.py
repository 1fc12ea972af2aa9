"""Scoring from fills and bars: golden figures on a hand-computed case, and streaming equal to batch whatever
order the fills and bar revisions arrive in."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quanta.competitions.models import Metric
from quanta.competitions.scoring import CompetitionScorer, Figures, ScoringRules, score_batch
from quanta.paper.events import FillEvent
from quanta.streaming.events import Bar

RULES = ScoringRules(capital=1000.0, symbols=frozenset({"AAA", "BBB"}), metric=Metric.SHARPE)


def bar(symbol: str, start: int, close: float, rev: int = 0) -> Bar:
    return Bar(symbol, "1s", start, close, close, close, close, 1.0, 1, rev)


def fill(
    account: str, seq: int, symbol: str, size: float, price: float, *, ts: int, commission: float = 0.0
) -> FillEvent:
    return FillEvent(
        account=account,
        fill_id=f"{account}:{seq}",
        order_id=f"{account}:o{seq}",
        seq=seq,
        symbol=symbol,
        size=size,
        price=price,
        commission=commission,
        ts=ts,
    )


def test_one_round_trip_gives_the_hand_computed_figures() -> None:
    scorer = CompetitionScorer("cp", RULES, ["en_a"])
    scorer.on_fill(fill("en_a", 1, "AAA", 10, 10.0, ts=500, commission=1.0))
    for start, close in ((0, 10.0), (1000, 11.0), (2000, 9.0)):
        scorer.on_bar(bar("AAA", start, close))

    figures = scorer.figures()["en_a"]

    equity = np.array([1000.0, 999.0, 1009.0, 989.0])
    returns = equity[1:] / equity[:-1] - 1
    assert figures.equity == pytest.approx(989.0)
    assert figures.return_pct == pytest.approx(-1.1)
    assert figures.max_drawdown_pct == pytest.approx((1009 - 989) / 1009 * 100)
    assert figures.sharpe == pytest.approx(returns.mean() / returns.std(ddof=1) * math.sqrt(252))
    downside = math.sqrt(float(np.mean(np.minimum(returns, 0) ** 2)))
    assert figures.sortino == pytest.approx(returns.mean() / downside * math.sqrt(252))
    annual = (989 / 1000) ** (252 / 3) - 1
    assert figures.calmar == pytest.approx(annual / ((1009 - 989) / 1009))
    assert (figures.trades, figures.marks, figures.ts, figures.score) == (1, 3, 2000, figures.sharpe)


def test_a_fill_at_the_next_window_start_counts_in_the_next_mark() -> None:
    scorer = CompetitionScorer("cp", RULES, ["en_a"])
    scorer.on_bar(bar("AAA", 0, 10.0))
    scorer.on_fill(fill("en_a", 1, "AAA", 1, 10.0, ts=1000, commission=5.0))

    assert scorer.figures()["en_a"].equity == 1000.0
    scorer.on_bar(bar("AAA", 1000, 10.0))
    assert scorer.figures()["en_a"].equity == 995.0


def test_a_later_bar_revision_revalues_and_an_older_one_is_ignored() -> None:
    scorer = CompetitionScorer("cp", RULES, ["en_a"])
    scorer.on_fill(fill("en_a", 1, "AAA", 10, 10.0, ts=0))
    scorer.on_bar(bar("AAA", 0, 10.0))
    assert scorer.on_bar(bar("AAA", 0, 12.0, rev=1))[0].equity == 1020.0
    assert scorer.on_bar(bar("AAA", 0, 8.0, rev=0)) == []
    assert scorer.figures()["en_a"].equity == 1020.0


def test_fills_of_other_accounts_and_bars_of_other_symbols_change_nothing() -> None:
    scorer = CompetitionScorer("cp", RULES, ["en_a"])
    assert scorer.on_fill(fill("someone-else", 1, "AAA", 1, 10.0, ts=0)) == []
    assert scorer.on_bar(bar("ZZZ", 0, 10.0)) == []
    assert scorer.on_bar(Bar("AAA", "1m", 0, 1, 1, 1, 1, 1, 1)) == []


def test_a_drawdown_over_the_limit_disqualifies() -> None:
    rules = ScoringRules(
        capital=1000.0, symbols=frozenset({"AAA"}), metric=Metric.RETURN_DRAWDOWN, drawdown_limit_pct=5.0
    )
    scorer = CompetitionScorer("cp", rules, ["en_a"])
    scorer.on_fill(fill("en_a", 1, "AAA", 100, 10.0, ts=0))
    scorer.on_bar(bar("AAA", 0, 10.0))
    assert not scorer.figures()["en_a"].disqualified
    scorer.on_bar(bar("AAA", 1000, 9.0))
    figures = scorer.figures()["en_a"]
    assert figures.disqualified
    assert figures.score == pytest.approx(-10.0)


def test_an_entry_that_never_trades_keeps_its_capital_and_has_no_sharpe() -> None:
    scorer = CompetitionScorer("cp", RULES, ["en_a"])
    for start in range(0, 5000, 1000):
        scorer.on_bar(bar("AAA", start, 10.0 + start / 1000))
    figures = scorer.figures()["en_a"]
    assert (figures.equity, figures.return_pct, figures.max_drawdown_pct) == (1000.0, 0.0, 0.0)
    assert figures.sharpe is None
    assert figures.sortino is None
    assert figures.calmar is None


# ---- streaming equals batch, whatever the order ----------------------------------------------------------

ACCOUNTS = ["en_a", "en_b", "en_c"]


@st.composite
def markets(draw: st.DrawFn) -> tuple[list[Bar], list[FillEvent]]:
    """Bars of two symbols over a few windows (some with later revisions) and fills of three entries."""
    windows = draw(st.integers(min_value=1, max_value=8))
    prices = st.floats(min_value=1.0, max_value=200.0, allow_nan=False)
    bars = []
    for symbol in ("AAA", "BBB"):
        for start in range(0, windows * 1000, 1000):
            if draw(st.booleans()) or start == 0:
                for rev in range(draw(st.integers(min_value=1, max_value=3))):
                    bars.append(bar(symbol, start, draw(prices), rev))  # noqa: PERF401 - draws
    fills = []
    for account in ACCOUNTS:
        for seq in range(1, draw(st.integers(min_value=0, max_value=6)) + 1):
            fills.append(  # noqa: PERF401 - each fill draws
                fill(
                    account,
                    seq,
                    draw(st.sampled_from(["AAA", "BBB"])),
                    draw(st.sampled_from([-5.0, -1.0, 1.0, 2.5, 10.0])),
                    draw(prices),
                    ts=draw(st.integers(min_value=0, max_value=windows * 1000 + 500)),
                    commission=draw(st.sampled_from([0.0, 0.5])),
                )
            )
    return bars, fills


def _stream(events: list[Bar | FillEvent], scorer: CompetitionScorer) -> dict[str, Figures]:
    for event in events:
        if isinstance(event, Bar):
            scorer.on_bar(event)
        else:
            scorer.on_fill(event)
    return scorer.figures()


@settings(max_examples=150, deadline=None)
@given(market=markets(), data=st.data(), metric=st.sampled_from(list(Metric)))
def test_streaming_in_any_arrival_order_equals_the_batch_recomputation(
    market: tuple[list[Bar], list[FillEvent]], data: st.DataObject, metric: Metric
) -> None:
    bars, fills = market
    limit = 3.0 if metric is Metric.RETURN_DRAWDOWN else None
    rules = ScoringRules(
        capital=1000.0, symbols=frozenset({"AAA", "BBB"}), metric=metric, drawdown_limit_pct=limit
    )
    arrival = data.draw(st.permutations([*bars, *fills]))
    repeated = data.draw(st.lists(st.sampled_from(arrival), max_size=4))  # redelivered records

    streamed = _stream([*arrival, *repeated], CompetitionScorer("cp", rules, ACCOUNTS))

    assert streamed == score_batch(rules=rules, accounts=ACCOUNTS, fills=fills, bars=bars)
