"""Quanta: write, backtest, run and share algorithmic trading strategies.

The core library is UI-free: the Reflex app, the pipelines, notebooks and the CLI all build on it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Public names re-exported lazily, so that ``import quanta`` stays cheap (no numpy/pandas import).
_EXPORTS = {
    "Backtest": "quanta.engine",
    "BacktestConfig": "quanta.engine",
    "Result": "quanta.engine",
    "StrategyError": "quanta.engine",
    "Trade": "quanta.engine",
    "Order": "quanta.engine",
    "Strategy": "quanta.strategy",
    "Signals": "quanta.strategy",
    "Targets": "quanta.strategy",
    "crossover": "quanta.strategy",
    "crossed_above": "quanta.strategy",
    "crossed_below": "quanta.strategy",
    "crossovers": "quanta.strategy",
}

__all__ = [
    "Backtest",
    "BacktestConfig",
    "Order",
    "Result",
    "Signals",
    "Strategy",
    "StrategyError",
    "Targets",
    "Trade",
    "__version__",
    "crossed_above",
    "crossed_below",
    "crossover",
    "crossovers",
]

if TYPE_CHECKING:
    from quanta.engine import Backtest, BacktestConfig, Order, Result, StrategyError, Trade
    from quanta.strategy import (
        Signals,
        Strategy,
        Targets,
        crossed_above,
        crossed_below,
        crossover,
        crossovers,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'quanta' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
