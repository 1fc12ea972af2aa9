"""Trading costs: commission models, bid-ask spread and slippage.

A commission is any callable ``(size, price) -> cash`` where ``size`` is signed units (negative when
selling). A plain float is a fraction of traded value and a ``(fixed, fraction)`` tuple is a fixed
fee plus a fraction, both as in backtesting.py 0.6.6 (charged on entry and again on exit).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
from collections.abc import Callable
from dataclasses import asdict, dataclass, is_dataclass
from math import copysign
from typing import Protocol, TypeAlias

from quanta.engine.errors import ConfigError

CommissionFn: TypeAlias = Callable[[float, float], float]
CommissionLike: TypeAlias = float | int | tuple[float, float] | CommissionFn

_MAX_FRACTION = 0.1


@dataclass(frozen=True, slots=True, kw_only=True)
class FractionCommission:
    """``|size| × price × rate`` — a negative rate is a market maker's rebate."""

    rate: float

    def __post_init__(self) -> None:
        if not -_MAX_FRACTION <= self.rate < _MAX_FRACTION:
            msg = f"commission rate must be in [-0.1, 0.1) (e.g. 0.002 for 0.2%), got {self.rate}"
            raise ConfigError(msg)

    def __call__(self, size: float, price: float) -> float:
        return abs(size) * price * self.rate


@dataclass(frozen=True, slots=True, kw_only=True)
class FixedPlusFraction:
    """``fixed + |size| × price × rate`` per order."""

    fixed: float
    rate: float

    def __post_init__(self) -> None:
        if self.fixed < 0:
            raise ConfigError(f"fixed commission must be >= 0, got {self.fixed}")
        FractionCommission(rate=self.rate)

    def __call__(self, size: float, price: float) -> float:
        return self.fixed + abs(size) * price * self.rate


@dataclass(frozen=True, slots=True, kw_only=True)
class PerShareCommission:
    """``max(minimum, |size| × per_share)`` per order, as many stock brokers charge."""

    per_share: float
    minimum: float = 0.0

    def __post_init__(self) -> None:
        if self.per_share < 0 or self.minimum < 0:
            raise ConfigError("per-share commission and its minimum must be >= 0")

    def __call__(self, size: float, price: float) -> float:
        return max(self.minimum, abs(size) * self.per_share)


def as_commission(value: CommissionLike) -> CommissionFn:
    """Normalise the ``commission=`` option to a callable ``(size, price) -> cash``."""
    if type(value) is float and value:  # the common case (every run asks): one shared model per rate
        return _fraction(value)
    if isinstance(value, bool):
        raise ConfigError("commission must be a number, a (fixed, fraction) tuple or a callable")
    if isinstance(value, int | float):
        return FractionCommission(rate=float(value))
    if isinstance(value, tuple):
        if len(value) != 2:
            raise ConfigError(f"commission tuple must be (fixed, fraction), got {value!r}")
        return FixedPlusFraction(fixed=float(value[0]), rate=float(value[1]))
    if callable(value):
        return value
    raise ConfigError(f"commission must be a number, a (fixed, fraction) tuple or a callable, got {value!r}")


@functools.lru_cache(maxsize=64)
def _fraction(rate: float) -> FractionCommission:
    return FractionCommission(rate=rate)


class Slippage(Protocol):
    """Adverse price move, as a fraction of price, suffered by a fill of ``size`` units."""

    def __call__(self, size: float, price: float, volume: float) -> float: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class FixedSlippage:
    """Every fill moves ``bps`` basis points against the trader."""

    bps: float

    def __post_init__(self) -> None:
        if not 0 <= self.bps < 10_000:
            raise ConfigError(f"slippage bps must be in [0, 10000), got {self.bps}")

    def __call__(self, size: float, price: float, volume: float) -> float:
        return self.bps / 10_000


@dataclass(frozen=True, slots=True, kw_only=True)
class VolumeShareSlippage:
    """Square-law market impact: ``price_impact × (|size| / bar volume)²`` (as in zipline).

    Fills are never partial; an order larger than the bar's volume simply pays a large impact.
    """

    price_impact: float = 0.1

    def __post_init__(self) -> None:
        if self.price_impact < 0:
            raise ConfigError(f"price_impact must be >= 0, got {self.price_impact}")

    def __call__(self, size: float, price: float, volume: float) -> float:
        share = abs(size) / volume
        return self.price_impact * share * share


def slipped(price: float, size: float, fraction: float) -> float:
    """``price`` moved by ``fraction`` against a trade of signed ``size``."""
    return price * (1 + copysign(fraction, size))


def describe(model: object) -> object:
    """A JSON-able description of a cost model for receipts (callables by name and source hash)."""
    if model is None or isinstance(model, int | float | str):
        return model
    if is_dataclass(model) and not isinstance(model, type):
        return {"type": type(model).__name__, **asdict(model)}
    name = getattr(model, "__qualname__", type(model).__qualname__)
    try:
        source = inspect.getsource(model)  # type: ignore[arg-type]
    except (OSError, TypeError):
        source = repr(model)
    return {"type": "callable", "name": name, "source_sha256": hashlib.sha256(source.encode()).hexdigest()}
