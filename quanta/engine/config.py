"""Backtest options: one frozen, keyword-only object that rejects unknown fields."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

from quanta.engine.costs import CommissionLike, Slippage, as_commission, describe
from quanta.engine.errors import ConfigError, did_you_mean


@dataclass(frozen=True, slots=True, kw_only=True)
class BacktestConfig:
    """How orders fill and what they cost. Defaults match backtesting.py 0.6.6.

    ``commission`` is a fraction of traded value, a ``(fixed, fraction)`` tuple or a callable
    ``(size, price) -> cash``; ``spread`` is a fraction added to entry prices; ``slippage`` is a
    fraction (or a model such as ``VolumeShareSlippage``) applied against every fill; ``margin`` is
    ``1 / leverage``; ``fractional`` allows non-integer units.
    """

    cash: float = 10_000.0
    commission: CommissionLike = 0.0
    spread: float = 0.0
    slippage: float | Slippage = 0.0
    margin: float = 1.0
    trade_on_close: bool = False
    hedging: bool = False
    exclusive_orders: bool = False
    finalize_trades: bool = False
    fractional: bool = False
    risk_free_rate: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.cash) and self.cash > 0):
            raise ConfigError(f"cash must be a positive number, got {self.cash}")
        if not 0 < self.margin <= 1:
            raise ConfigError(f"margin must be in (0, 1] (1 / leverage), got {self.margin}")
        if not 0 <= self.spread < 1:
            raise ConfigError(f"spread must be a fraction in [0, 1), got {self.spread}")
        if not -1 < self.risk_free_rate < 1:
            raise ConfigError(f"risk_free_rate must be in (-1, 1), got {self.risk_free_rate}")
        if isinstance(self.slippage, int | float) and not 0 <= self.slippage < 1:
            raise ConfigError(f"slippage must be a fraction in [0, 1) or a model, got {self.slippage}")
        as_commission(self.commission)

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> BacktestConfig:
        """Build from keyword options, failing with a "did you mean" hint on a misspelt name."""
        known = [f.name for f in fields(cls)]
        for name in options:
            if name not in known:
                raise ConfigError(f"unknown backtest option {name!r}.{did_you_mean(name, known)}")
        return cls(**options)

    def slippage_model(self) -> Slippage | None:
        """The slippage model, or None when fills do not slip."""
        if isinstance(self.slippage, int | float):
            return _FractionSlippage(fraction=float(self.slippage)) if self.slippage else None
        return self.slippage

    def to_dict(self) -> dict[str, object]:
        """JSON-able description (cost callables by name and source hash)."""
        out: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self)}
        out["commission"] = describe(self.commission)
        out["slippage"] = describe(self.slippage)
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class _FractionSlippage:
    fraction: float

    def __call__(self, size: float, price: float, volume: float) -> float:
        return self.fraction
