"""The backtest engine: ``Backtest(data, Strategy, **options).run(**params) -> Result``.

Fill rules, costs and accounting are described in docs/engine.md; statistics in docs/stats.md.
Names are imported lazily so that ``quanta.strategy`` and the engine can import each other's modules.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Backtest": "quanta.engine.backtest",
    "Broker": "quanta.engine.broker",
    "BacktestConfig": "quanta.engine.config",
    "FixedPlusFraction": "quanta.engine.costs",
    "FixedSlippage": "quanta.engine.costs",
    "FractionCommission": "quanta.engine.costs",
    "PerShareCommission": "quanta.engine.costs",
    "VolumeShareSlippage": "quanta.engine.costs",
    "BacktestError": "quanta.engine.errors",
    "ConfigError": "quanta.engine.errors",
    "DataError": "quanta.engine.errors",
    "OrderError": "quanta.engine.errors",
    "ParameterError": "quanta.engine.errors",
    "StrategyError": "quanta.engine.errors",
    "Market": "quanta.engine.market",
    "as_market": "quanta.engine.market",
    "Order": "quanta.engine.orders",
    "Position": "quanta.engine.orders",
    "Trade": "quanta.engine.orders",
    "OrderLog": "quanta.engine.result",
    "Result": "quanta.engine.result",
    "TradeLog": "quanta.engine.result",
}

__all__ = [
    "Backtest",
    "BacktestConfig",
    "BacktestError",
    "Broker",
    "ConfigError",
    "DataError",
    "FixedPlusFraction",
    "FixedSlippage",
    "FractionCommission",
    "Market",
    "Order",
    "OrderError",
    "OrderLog",
    "ParameterError",
    "PerShareCommission",
    "Position",
    "Result",
    "StrategyError",
    "Trade",
    "TradeLog",
    "VolumeShareSlippage",
    "as_market",
]

if TYPE_CHECKING:
    from quanta.engine.backtest import Backtest
    from quanta.engine.broker import Broker
    from quanta.engine.config import BacktestConfig
    from quanta.engine.costs import (
        FixedPlusFraction,
        FixedSlippage,
        FractionCommission,
        PerShareCommission,
        VolumeShareSlippage,
    )
    from quanta.engine.errors import (
        BacktestError,
        ConfigError,
        DataError,
        OrderError,
        ParameterError,
        StrategyError,
    )
    from quanta.engine.market import Market, as_market
    from quanta.engine.orders import Order, Position, Trade
    from quanta.engine.result import OrderLog, Result, TradeLog


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'quanta.engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
