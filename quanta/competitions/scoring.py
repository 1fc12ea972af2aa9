"""Scoring: each entry's equity, return, drawdown, Sharpe, Sortino, Calmar and score, from fills and bars.

An entry is valued at **marks**, one per bar window of the competition's interval (the window starts seen
in the universe's bars, within ``[start_ms, end_ms)``). The mark at window start ``t``:

- counts the fills with ``ts < t + interval`` (a fill belongs to the window it happened in), in the
  order ``(ts, seq, fill id)``: ``cash = capital + Σ cash_flow``, positions summed per symbol;
- values each position at the latest close of its symbol with window start ``≤ t`` (the latest revision
  of each bar), or at its last fill price while the symbol has no bar yet;
- ``equity = cash + Σ position × price``; its return against the previous mark (the capital before the
  first) feeds the running mean and variance (Welford), the downside sum of squares, the peak and the
  maximum drawdown.

The figures after ``n`` marks (``P`` = marks per year, ``r`` the mark returns):
return % = (equity / capital − 1) · 100; max drawdown % = max over marks of (peak − equity) / peak · 100;
Sharpe = mean(r) / stdev(r) · √P (n ≥ 2, stdev > 0); Sortino = mean(r) / √(Σ min(r, 0)² / n) · √P;
Calmar = ((equity / capital)^(P / n) − 1) / max drawdown (a fraction). Undefined figures are ``None``.

**Streaming equals batch, whatever the arrival order.** Every mark's state is kept; a fill or a bar
revision that lands in the past throws away the states from the first mark it touches and folds them
again, in time order. So the figures after any set of events are the batch fold over those events —
:func:`score_batch` is that fold over stored fills and bars — bit for bit.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from quanta.competitions.events import ScoreEvent
from quanta.paper.events import FillEvent
from quanta.streaming.events import Bar, interval_ms

__all__ = ["CompetitionScorer", "Figures", "Metric", "ScoringRules", "Timeline", "score_batch"]


class Metric(StrEnum):
    """What ranks the entries (docs/competitions.md defines each on the entry's equity marks)."""

    RETURN = "return"
    SHARPE = "sharpe"
    SORTINO = "sortino"
    CALMAR = "calmar"
    RETURN_DRAWDOWN = "return-drawdown"
    """Return, with entries whose maximum drawdown exceeds the limit disqualified."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoringRules:
    """How a competition values its entries."""

    capital: float
    symbols: frozenset[str]
    metric: Metric = Metric.RETURN
    interval: str = "1s"
    periods_per_year: float = 252.0
    drawdown_limit_pct: float | None = None
    start_ms: int = 0
    end_ms: int = 2**53

    @property
    def width_ms(self) -> int:
        """The length of one mark's window."""
        return interval_ms(self.interval)


@dataclass(frozen=True, slots=True, kw_only=True)
class Figures:
    """An entry's standing after ``marks`` marks."""

    ts: int
    marks: int
    equity: float
    return_pct: float
    max_drawdown_pct: float
    sharpe: float | None
    sortino: float | None
    calmar: float | None
    trades: int
    score: float | None
    disqualified: bool


class Timeline:
    """The marks (window starts) and, per symbol, the latest revision of each bar's close."""

    def __init__(self, rules: ScoringRules) -> None:
        self.rules = rules
        self.marks: list[int] = []
        self._starts: dict[str, list[int]] = {}
        self._closes: dict[str, dict[int, tuple[int, float]]] = {}

    def add(self, bar: Bar) -> int | None:
        """Take a bar; the index of the first mark it changes, or None if it changes nothing."""
        rules = self.rules
        if bar.symbol not in rules.symbols or bar.interval != rules.interval:
            return None
        if not rules.start_ms <= bar.start < rules.end_ms:
            return None
        closes = self._closes.setdefault(bar.symbol, {})
        known = closes.get(bar.start)
        if known is not None and known[0] >= bar.rev:  # this revision or a later one is in
            return None
        closes[bar.start] = (bar.rev, bar.close)
        if known is None:
            insort(self._starts.setdefault(bar.symbol, []), bar.start)
        elif known[1] == bar.close:  # a later revision with the same close values nothing differently
            return None
        at = bisect_left(self.marks, bar.start)
        if at == len(self.marks) or self.marks[at] != bar.start:
            self.marks.insert(at, bar.start)
        return at

    def close(self, symbol: str, ts: int) -> float | None:
        """The latest close of ``symbol`` with window start at or before ``ts``."""
        starts = self._starts.get(symbol)
        if not starts:
            return None
        at = bisect_right(starts, ts)
        return self._closes[symbol][starts[at - 1]][1] if at else None


@dataclass(frozen=True, slots=True)
class _State:
    """An entry after a mark (or before the first)."""

    applied: int
    cash: float
    positions: Mapping[str, float]
    fill_prices: Mapping[str, float]
    marks: int
    ts: int
    equity: float
    peak: float
    max_dd: float = 0.0
    mean: float = 0.0
    m2: float = 0.0
    down2: float = 0.0


def _fill_key(fill: FillEvent) -> tuple[int, int, str]:
    return (fill.ts, fill.seq, fill.fill_id)


@dataclass
class _Book:
    """One entry's fills, in time order, and its state after every mark folded so far."""

    account: str
    start: _State
    fills: list[FillEvent] = field(default_factory=list)
    keys: list[tuple[int, int, str]] = field(default_factory=list)
    states: list[_State] = field(default_factory=list)
    rev: int = 0

    def add(self, fill: FillEvent, timeline: Timeline) -> bool:
        """Take a fill (a repeated fill id changes nothing); whether it was new."""
        key = _fill_key(fill)
        at = bisect_left(self.keys, key)
        if at < len(self.keys) and self.keys[at] == key:
            return False
        self.keys.insert(at, key)
        self.fills.insert(at, fill)
        first_mark = bisect_right(timeline.marks, fill.ts - timeline.rules.width_ms)
        self.forget(first_mark)
        return True

    def forget(self, first_mark: int) -> None:
        """Drop the states from mark ``first_mark`` on (they are folded again)."""
        del self.states[first_mark:]

    def catch_up(self, timeline: Timeline) -> bool:
        """Fold the marks not folded yet; whether there were any."""
        folded = False
        state = self.states[-1] if self.states else self.start
        for index in range(len(self.states), len(timeline.marks)):
            state = _fold(state, self.fills, timeline, timeline.marks[index])
            self.states.append(state)
            folded = True
        return folded

    def figures(self, rules: ScoringRules) -> Figures:
        """The standing after the last folded mark."""
        return _figures(self.states[-1] if self.states else self.start, rules)


def _fold(state: _State, fills: list[FillEvent], timeline: Timeline, mark: int) -> _State:
    """The state after ``mark``: the fills of its window applied, the equity valued, the statistics on."""
    cash, positions, fill_prices = state.cash, dict(state.positions), dict(state.fill_prices)
    applied, end = state.applied, mark + timeline.rules.width_ms
    while applied < len(fills) and fills[applied].ts < end:
        fill = fills[applied]
        cash += fill.cash_flow
        positions[fill.symbol] = positions.get(fill.symbol, 0.0) + fill.size
        fill_prices[fill.symbol] = fill.price
        applied += 1
    equity = cash
    for symbol in sorted(positions):
        price = timeline.close(symbol, mark)
        equity += positions[symbol] * (fill_prices[symbol] if price is None else price)
    step = equity / state.equity - 1 if state.equity > 0 else 0.0
    n = state.marks + 1
    delta = step - state.mean
    mean = state.mean + delta / n
    peak = max(state.peak, equity)
    drawdown = (peak - equity) / peak if peak > 0 else 0.0
    return _State(
        applied=applied,
        cash=cash,
        positions=positions,
        fill_prices=fill_prices,
        marks=n,
        ts=mark,
        equity=equity,
        peak=peak,
        max_dd=max(state.max_dd, drawdown),
        mean=mean,
        m2=state.m2 + delta * (step - mean),
        down2=state.down2 + min(step, 0.0) ** 2,
    )


def _figures(state: _State, rules: ScoringRules) -> Figures:
    n, root = state.marks, math.sqrt(rules.periods_per_year)
    std = math.sqrt(state.m2 / (n - 1)) if n >= 2 else 0.0
    downside = math.sqrt(state.down2 / n) if n else 0.0
    sharpe = state.mean / std * root if std > 0 else None
    sortino = state.mean / downside * root if downside > 0 else None
    growth = state.equity / rules.capital
    calmar = None
    if n and state.max_dd > 0:
        annual = growth ** (rules.periods_per_year / n) - 1 if growth > 0 else -1.0
        calmar = annual / state.max_dd if math.isfinite(annual) else None
    return_pct = (growth - 1) * 100
    drawdown_pct = state.max_dd * 100
    limit = rules.drawdown_limit_pct
    disqualified = rules.metric is Metric.RETURN_DRAWDOWN and limit is not None and drawdown_pct > limit
    by_metric = {
        Metric.RETURN: return_pct,
        Metric.RETURN_DRAWDOWN: return_pct,
        Metric.SHARPE: sharpe,
        Metric.SORTINO: sortino,
        Metric.CALMAR: calmar,
    }
    return Figures(
        ts=state.ts,
        marks=n,
        equity=state.equity,
        return_pct=return_pct,
        max_drawdown_pct=drawdown_pct,
        sharpe=sharpe,
        sortino=sortino,
        calmar=calmar,
        trades=state.applied,
        score=by_metric[rules.metric],
        disqualified=disqualified,
    )


class CompetitionScorer:
    """The entries of one competition, scored as fills and bars arrive, in any order.

    ``on_bar`` and ``on_fill`` return a :class:`ScoreEvent` for every entry whose standing changed;
    fills of accounts that are not entries are ignored.
    """

    def __init__(self, competition: str, rules: ScoringRules, accounts: Iterable[str]) -> None:
        self.competition = competition
        self.rules = rules
        self.timeline = Timeline(rules)
        start = _State(
            applied=0,
            cash=rules.capital,
            positions={},
            fill_prices={},
            marks=0,
            ts=0,
            equity=rules.capital,
            peak=rules.capital,
        )
        self._books = {account: _Book(account, start) for account in accounts}

    @property
    def accounts(self) -> list[str]:
        """The entries scored."""
        return list(self._books)

    def on_bar(self, bar: Bar) -> list[ScoreEvent]:
        """Take a bar of the universe."""
        first = self.timeline.add(bar)
        if first is None:
            return []
        for book in self._books.values():
            book.forget(first)
        return self._catch_up(self._books.values())

    def on_fill(self, fill: FillEvent) -> list[ScoreEvent]:
        """Take a fill of an entry."""
        book = self._books.get(fill.account)
        if book is None or not book.add(fill, self.timeline):
            return []
        return self._catch_up([book])

    def ingest(self, *, fills: Iterable[FillEvent], bars: Iterable[Bar]) -> None:
        """Take many fills and bars at once, folding each entry once at the end (a batch, or a restart)."""
        for bar in bars:
            self.timeline.add(bar)
        for fill in fills:
            book = self._books.get(fill.account)
            if book is not None:
                book.add(fill, self.timeline)
        for book in self._books.values():
            book.forget(0)
            book.catch_up(self.timeline)

    def figures(self) -> dict[str, Figures]:
        """Every entry's standing now."""
        return {account: book.figures(self.rules) for account, book in self._books.items()}

    def events(self) -> list[ScoreEvent]:
        """Every entry's standing now, as score events (revision unchanged)."""
        return [self._event(book) for book in self._books.values()]

    def _catch_up(self, books: Iterable[_Book]) -> list[ScoreEvent]:
        changed = []
        for book in books:
            if book.catch_up(self.timeline):
                book.rev += 1
                changed.append(self._event(book))
        return changed

    def _event(self, book: _Book) -> ScoreEvent:
        figures = book.figures(self.rules)
        return ScoreEvent(
            competition=self.competition,
            entry=book.account,
            rev=book.rev,
            ts=figures.ts,
            marks=figures.marks,
            equity=figures.equity,
            return_pct=figures.return_pct,
            max_drawdown_pct=figures.max_drawdown_pct,
            sharpe=figures.sharpe,
            sortino=figures.sortino,
            calmar=figures.calmar,
            trades=figures.trades,
            score=figures.score,
            disqualified=figures.disqualified,
        )


def score_batch(
    *, rules: ScoringRules, accounts: Iterable[str], fills: Iterable[FillEvent], bars: Iterable[Bar]
) -> dict[str, Figures]:
    """The entries' standings recomputed at once from stored fills and bars (the streaming result's check)."""
    scorer = CompetitionScorer("batch", rules, accounts)
    scorer.ingest(fills=fills, bars=bars)
    return scorer.figures()
