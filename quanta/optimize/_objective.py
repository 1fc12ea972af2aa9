"""What a search maximises: a backtest statistic (or any function of the statistics) per parameter set.

An ``Objective`` hands each worker process an *evaluator* (built once per worker and data window) that
maps a parameter dict to ``(score, kept statistics)``; only those scalars travel back to the parent.
``run`` recomputes the full ``Result`` of a few chosen parameter sets in the parent: the engine is
deterministic, so a recomputed result equals the one the worker saw.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias, cast

import numpy as np

from quanta.engine import Backtest, Market, Result, as_market
from quanta.loading import StrategyRef
from quanta.optimize._space import Params
from quanta.stats import STAT_NAMES
from quanta.strategy import Strategy

Window: TypeAlias = tuple[int, int]
"""Bars ``[start, stop)`` of the data a backtest runs on (walk-forward folds)."""

Maximize: TypeAlias = str | Callable[[Mapping[str, Any]], float]
"""A statistic's name (``"Sharpe Ratio"``) or a function of the statistics mapping."""

Evaluation: TypeAlias = tuple[float, dict[str, float]]
Evaluator: TypeAlias = Callable[[Params], Evaluation]

ROW_STATS: tuple[str, ...] = (
    "Return [%]",
    "Sharpe Ratio",
    "Sortino Ratio",
    "Calmar Ratio",
    "Max. Drawdown [%]",
    "Win Rate [%]",
    "# Trades",
    "Exposure Time [%]",
    "Equity Final [$]",
    "Profit Factor",
    "SQN",
)
"""Statistics kept for every evaluated combination (besides the score)."""


class Objective(Protocol):
    """Anything a search can maximise (``BacktestObjective``, or a cheap function in tests)."""

    @property
    def label(self) -> str:
        """What is maximised, for tables."""
        ...

    def evaluator(self, window: Window | None) -> Evaluator:
        """A function scoring one parameter set; built once per worker and window."""
        ...

    def run(self, params: Params, window: Window | None = None) -> Any:
        """The full result of one parameter set."""
        ...


def score(stats: Mapping[str, Any], maximize: Maximize) -> float:
    """The value to maximise (NaN when undefined, e.g. a Sharpe ratio without trades)."""
    value = maximize(stats) if callable(maximize) else stats[maximize]
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"the objective must be a number, got {value!r}") from None


def rank_key(value: float) -> float:
    """Sort key: NaN ranks below every number."""
    return -math.inf if math.isnan(value) else value


def label_of(maximize: Maximize) -> str:
    """A name for what is maximised."""
    return maximize if isinstance(maximize, str) else getattr(maximize, "__name__", "objective")


def kept_stats(stats: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, float]:
    """The numeric statistics among ``names`` as plain floats or ints (others left out)."""
    out: dict[str, float] = {}
    for name in names:
        value = stats.get(name)
        kind = type(value)
        if kind is float or kind is int:  # the common case, without the checks below
            out[name] = cast(float, value)
        elif isinstance(value, int | float | np.number) and not isinstance(value, bool | np.bool_):
            out[name] = value.item() if isinstance(value, np.number) else value
    return out


def needed_stats(maximize: Maximize, names: tuple[str, ...]) -> tuple[str, ...]:
    """The statistics a backtest must compute to score with ``maximize`` and keep ``names``: every
    one for a function of the statistics; else the named ones that exist (a missing ``maximize``
    then fails when scored, as with the full set)."""
    if callable(maximize):
        return STAT_NAMES
    wanted = {*names, maximize}
    return tuple(name for name in STAT_NAMES if name in wanted)


@dataclass(frozen=True, kw_only=True, eq=False)
class BacktestObjective:
    """Backtest ``strategy`` on ``data`` with ``options`` (``Backtest`` keyword options) and score it.

    ``strategy`` may be a class or a ``StrategyRef``; worker processes started with ``spawn``
    load it again from its module or file.
    """

    strategy: type[Strategy] | StrategyRef
    data: Any
    options: Mapping[str, Any] = field(default_factory=dict)
    maximize: Maximize = "Sharpe Ratio"
    stats: tuple[str, ...] = ROW_STATS

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", as_market(self.data))
        Backtest(self.market, self.strategy_class, **self.options)  # fail early on bad options

    def __reduce__(self) -> tuple[Any, ...]:
        ref = self.strategy if isinstance(self.strategy, StrategyRef) else StrategyRef.of(self.strategy)
        args = (ref, self.data, dict(self.options), self.maximize, self.stats)
        return (_rebuild, args)

    @property
    def market(self) -> Market:
        """The data as the engine holds it."""
        market: Market = self.data
        return market

    @property
    def n_bars(self) -> int:
        """Number of bars in the data."""
        return self.market.n_bars

    @property
    def label(self) -> str:
        """What is maximised."""
        return label_of(self.maximize)

    @property
    def strategy_class(self) -> type[Strategy]:
        """The strategy class (loaded from its reference if need be)."""
        return self.strategy.load() if isinstance(self.strategy, StrategyRef) else self.strategy

    def backtest(self, window: Window | None = None) -> Backtest:
        """A ``Backtest`` on the whole data or on the bars of ``window``."""
        market = self.market if window is None else slice_market(self.market, *window)
        return Backtest(market, self.strategy_class, **self.options)

    def evaluator(self, window: Window | None) -> Evaluator:
        """Run and score one parameter set, computing only the statistics it keeps and scores."""
        bt, maximize, names = self.backtest(window), self.maximize, self.stats
        wanted = needed_stats(maximize, names)

        def evaluate(params: Params) -> Evaluation:
            stats = bt.run_stats(wanted, **params)
            return score(stats, maximize), kept_stats(stats, names)

        return evaluate

    def run(self, params: Params, window: Window | None = None) -> Result:
        """The full ``Result`` of one parameter set."""
        return self.backtest(window).run(**params)

    def check(self, params: Params) -> None:
        """Raise the engine's ``ParameterError`` for an unknown or mistyped parameter."""
        self.strategy_class.resolve_params(params)


def _rebuild(
    strategy: StrategyRef, data: Market, options: dict[str, Any], maximize: Maximize, stats: tuple[str, ...]
) -> BacktestObjective:
    return BacktestObjective(strategy=strategy, data=data, options=options, maximize=maximize, stats=stats)


def slice_market(market: Market, start: int, stop: int) -> Market:
    """The bars ``[start, stop)`` of ``market``."""

    def cut(a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(a[..., start:stop])

    return Market(
        symbols=market.symbols,
        index=cut(market.index),
        is_datetime=market.is_datetime,
        tz=market.tz,
        open=cut(market.open),
        high=cut(market.high),
        low=cut(market.low),
        close=cut(market.close),
        volume=cut(market.volume),
    )


@dataclass(frozen=True, kw_only=True, eq=False)
class FunctionObjective:
    """Maximise ``maximize(func(params))`` for a plain function returning statistics (cheap searches)."""

    func: Callable[[Params], Mapping[str, Any]]
    maximize: Maximize
    stats: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """What is maximised."""
        return label_of(self.maximize)

    def evaluator(self, window: Window | None) -> Evaluator:
        """Score one parameter set (``window`` is ignored)."""
        func, maximize, names = self.func, self.maximize, self.stats

        def evaluate(params: Params) -> Evaluation:
            stats = func(params)
            return score(stats, maximize), kept_stats(stats, names)

        return evaluate

    def run(self, params: Params, window: Window | None = None) -> Mapping[str, Any]:
        """The function's full output for one parameter set."""
        return self.func(params)
