"""The ``Strategy`` base class: declare indicators in ``init()``, decide in ``next()``.

Parameters are plain class attributes; ``Backtest.run(fast=5)`` overrides them after checking the
name (with a "did you mean" hint) and the type (against the default's type).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from numbers import Integral, Real
from typing import TYPE_CHECKING, Any

import numpy as np

from quanta.engine.errors import OrderError, ParameterError, did_you_mean
from quanta.engine.orders import Order, Position, Trade
from quanta.strategy._data import Data
from quanta.strategy._vector import FULL_EQUITY, Signals, Targets

if TYPE_CHECKING:
    from quanta.engine.broker import Broker
    from quanta.engine.market import Market


@dataclass(frozen=True, slots=True)
class Indicator:
    """An array declared with ``Strategy.I``: revealed bar by bar in ``next()``."""

    values: np.ndarray
    given_name: str | None
    warmup: bool
    func: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]

    @property
    def name(self) -> str:
        """The name given to ``I``, or ``func(scalar args)``."""
        return self.given_name or _label(self.func, self.args, self.kwargs)


class Strategy:
    """Subclass, set parameters as class attributes, and override ``init`` and ``next``.

    Vectorised strategies override ``signals`` (entry/exit arrays) or ``targets`` (weights)
    instead of ``next``; the engine then simulates without calling Python per bar.
    """

    _broker: Broker
    _market: Market
    _indicators: list[Indicator]
    _positions: dict[str, Position]
    _position: Position | None
    _params: dict[str, Any]
    data: Data

    # -- what a strategy overrides -----------------------------------------------------------

    def init(self) -> None:
        """Declare indicators with ``self.I``; runs once with the full history visible."""

    def next(self) -> None:
        """Decide at the close of each bar (after the warm-up of every declared indicator)."""

    def signals(self) -> Signals:
        """Vectorised alternative to ``next``: entry/exit arrays over the whole history."""
        raise NotImplementedError

    def targets(self) -> Targets:
        """Vectorised alternative to ``next``: target weights over the whole history."""
        raise NotImplementedError

    # -- parameters ----------------------------------------------------------------------------

    @classmethod
    def params(cls) -> dict[str, Any]:
        """Parameter names and defaults: the public, non-callable class attributes of subclasses."""
        out: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):
            if klass is Strategy or not issubclass(klass, Strategy):
                continue
            for name, value in vars(klass).items():
                if (
                    name.startswith("_")
                    or callable(value)
                    or isinstance(value, property | classmethod | staticmethod)
                ):
                    continue
                out[name] = value
        return out

    @classmethod
    def resolve_params(cls, given: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults overridden by ``given``, each checked against its default's type."""
        defaults = cls.params()
        reserved = [n for n in defaults if hasattr(Strategy, n)]
        if reserved:
            raise ParameterError(f"{cls.__name__}: parameter names {reserved} clash with Strategy attributes")
        values = dict(defaults)
        for name, value in given.items():
            if name not in defaults:
                known = ", ".join(defaults) or "none"
                msg = (
                    f"{cls.__name__} has no parameter {name!r}.{did_you_mean(name, defaults)} "
                    f"Parameters are class attributes; this strategy has: {known}."
                )
                raise ParameterError(msg)
            values[name] = _coerce(cls.__name__, name, value, defaults[name])
        return values

    # -- set-up by the engine ------------------------------------------------------------------

    @classmethod
    def _create(cls, broker: Broker, market: Market, params: Mapping[str, Any]) -> Strategy:
        self = cls.__new__(cls)
        self._broker = broker
        self._market = market
        self._indicators = []
        self._params = dict(params)
        self.data = Data(market)
        self._positions = {s: Position(broker, k) for k, s in enumerate(market.symbols)}
        self._position = self._positions[market.symbols[0]] if len(market.symbols) == 1 else None
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in getattr(self, "_params", {}).items())
        return f"{type(self).__name__}({args})"

    # -- indicators ----------------------------------------------------------------------------

    def I(  # noqa: E743
        self,
        func: Callable[..., Any],
        *args: Any,
        name: str | None = None,
        warmup: bool = True,
        **kwargs: Any,
    ) -> np.ndarray:
        """Compute ``func(*args, **kwargs)`` once and reveal it bar by bar like ``data``.

        A tuple of arrays (e.g. MACD) becomes a 2-D array, one row each. Leading NaNs delay the
        first ``next()`` call until every indicator with ``warmup=True`` has a value.
        """
        values = _as_indicator(
            func(*args, **kwargs), n=self._market.n_bars, name=name, func=func, args=args, kwargs=kwargs
        )
        self._indicators.append(Indicator(values, name, warmup, func, args, kwargs))
        return values

    # -- state ---------------------------------------------------------------------------------

    @property
    def symbols(self) -> tuple[str, ...]:
        """Symbols of the universe, in data order."""
        return self._market.symbols

    @property
    def position(self) -> Position:
        """Position in the only symbol (use ``positions[symbol]`` with several symbols)."""
        pos = self._position
        if pos is None:
            raise AttributeError("several symbols: use self.positions[symbol]")
        return pos

    @property
    def positions(self) -> dict[str, Position]:
        """Position per symbol."""
        return self._positions

    @property
    def equity(self) -> float:
        """Cash plus open positions marked at the current close."""
        return self._broker.equity

    @property
    def cash(self) -> float:
        """Cash not tied up in positions (balance minus the entry value of open trades)."""
        b = self._broker
        return b.balance - sum(b.cost)

    @property
    def orders(self) -> tuple[Order, ...]:
        """Orders waiting to fill."""
        return (*self._broker.orders, *self._broker.targets.values())

    @property
    def trades(self) -> tuple[Trade, ...]:
        """Open trades."""
        return tuple(self._broker.trades)

    @property
    def closed_trades(self) -> tuple[Trade, ...]:
        """Closed trades, in closing order."""
        return tuple(self._broker.closed)

    @property
    def bar(self) -> int:
        """Index of the current bar."""
        return self._broker.i

    @property
    def time(self) -> Any:
        """Timestamp (or index value) of the current bar."""
        return self._market.time_at(self._broker.i)

    # -- orders --------------------------------------------------------------------------------

    def buy(
        self,
        *,
        size: float = FULL_EQUITY,
        units: float | None = None,
        limit: float | None = None,
        stop: float | None = None,
        sl: float | None = None,
        tp: float | None = None,
        trail: float | None = None,
        trail_pct: float | None = None,
        tag: object = None,
        symbol: str | None = None,
    ) -> Order:
        """Place a long order: market, or limit/stop/stop-limit, with optional SL/TP/trailing stop.

        ``0 < size < 1`` is a fraction of available margin, ``size >= 1`` whole units;
        ``units`` gives an exact quantity (fractional with ``Backtest(..., fractional=True)``).
        """
        qty, relative = self._quantity(size, units)
        return self._broker.new_order(
            self._sym(symbol),
            qty,
            relative=relative,
            limit=limit,
            stop=stop,
            sl=sl,
            tp=tp,
            trail=trail,
            trail_pct=trail_pct,
            tag=tag,
        )

    def sell(
        self,
        *,
        size: float = FULL_EQUITY,
        units: float | None = None,
        limit: float | None = None,
        stop: float | None = None,
        sl: float | None = None,
        tp: float | None = None,
        trail: float | None = None,
        trail_pct: float | None = None,
        tag: object = None,
        symbol: str | None = None,
    ) -> Order:
        """Place a short order (mirror of ``buy``); to exit a long use ``position.close()``."""
        qty, relative = self._quantity(size, units)
        return self._broker.new_order(
            self._sym(symbol),
            -qty,
            relative=relative,
            limit=limit,
            stop=stop,
            sl=sl,
            tp=tp,
            trail=trail,
            trail_pct=trail_pct,
            tag=tag,
        )

    def order_target_percent(self, symbol: str | None, weight: float, *, tag: object = None) -> Order:
        """Rebalance ``symbol`` to ``weight`` × equity (negative = short) at the next fill."""
        return self._broker.target(self._sym(symbol), float(weight), tag)

    def rebalance(self, weights: Mapping[str, float], *, tag: object = None) -> list[Order]:
        """Rebalance the whole portfolio to ``weights``; symbols left out are closed."""
        unknown = set(weights) - set(self.symbols)
        if unknown:
            raise OrderError(f"unknown symbols {sorted(unknown)}; have {list(self.symbols)}")
        return [self.order_target_percent(s, float(weights.get(s, 0.0)), tag=tag) for s in self.symbols]

    def _sym(self, symbol: str | None) -> int:
        symbols = self._market.symbols
        if symbol is None:
            if len(symbols) == 1:
                return 0
            raise OrderError(f"several symbols: pass symbol= (one of {list(symbols)})")
        try:
            return symbols.index(symbol)
        except ValueError:
            raise OrderError(f"unknown symbol {symbol!r}; have {list(symbols)}") from None

    def _quantity(self, size: float, units: float | None) -> tuple[float, bool]:
        fractional = self._broker._fractional
        if units is not None:
            if not _is_number(units) or not (math.isfinite(units) and units > 0):
                raise OrderError(f"units must be a positive number, got {units!r}")
            if not fractional and units != int(units):
                raise OrderError(f"units must be whole ({units}); use Backtest(..., fractional=True)")
            return float(units), False
        if not _is_number(size) or not (math.isfinite(size) and size > 0):
            raise OrderError(f"size must be a positive number, got {size!r}")
        if size >= 1 and not fractional and size != int(size):
            msg = f"size {size} must be a fraction in (0, 1) or whole units >= 1 (or use fractional=True)"
            raise OrderError(msg)
        return float(size), size < 1

    # -- engine hooks --------------------------------------------------------------------------

    @classmethod
    def _mode(cls) -> str:
        overridden = [
            m for m in ("next", "signals", "targets") if getattr(cls, m) is not getattr(Strategy, m)
        ]
        if len(overridden) != 1:
            have = ", ".join(overridden) or "none of them"
            raise TypeError(
                f"{cls.__name__} must override exactly one of next(), signals(), targets(); has {have}"
            )
        return overridden[0]


def _is_number(x: object) -> bool:
    return isinstance(x, Real) and not isinstance(x, bool)


_PLAIN = (int, float, bool, str)
"""Types a value keeps unchanged when its default has the same type."""


def _coerce(owner: str, name: str, value: Any, default: Any) -> Any:
    """``value`` converted to the type of ``default`` when lossless, else a ParameterError."""
    ok, out = True, value
    if default is None or (type(value) is type(default) and type(value) in _PLAIN):
        return value
    if isinstance(default, bool):
        ok = isinstance(value, bool | np.bool_)
        out = bool(value) if ok else value
    elif isinstance(default, Integral):
        ok = _is_number(value) and float(value).is_integer()
        out = int(value) if ok else value
    elif isinstance(default, Real):
        ok = _is_number(value)
        out = float(value) if ok else value
    else:
        ok = isinstance(value, type(default))
    if not ok:
        msg = f"{owner}.{name} expects {type(default).__name__} (default {default!r}), got {value!r}"
        raise ParameterError(msg)
    return out


def _label(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    params = ",".join(str(a) for a in (*args, *kwargs.values()) if isinstance(a, int | float | str))
    return f"{getattr(func, '__name__', 'indicator')}({params})"


def _as_indicator(
    value: Any,
    *,
    n: int,
    name: str | None,
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> np.ndarray:
    if type(value) is np.ndarray and value.shape == (n,) and value.flags.c_contiguous:
        return value
    if isinstance(value, tuple | list):
        value = np.vstack([_plain(v) for v in value])
    else:
        value = _plain(value)
        if hasattr(value, "columns"):  # a DataFrame: one row per column
            value = np.asarray(value).T
    arr = np.asarray(value)
    if arr.ndim == 2 and arr.shape[0] == n and arr.shape[1] != n:
        arr = arr.T
    if arr.ndim not in (1, 2) or arr.shape[-1] != n:
        label = name or _label(func, args, kwargs)
        msg = (
            f"indicator {label} must return array(s) of length {n} (the data's length), got shape {arr.shape}"
        )
        raise ValueError(msg)
    return np.ascontiguousarray(arr)


def _plain(value: Any) -> Any:
    to_numpy = getattr(value, "to_numpy", None)
    if callable(to_numpy) and not hasattr(value, "columns"):
        return to_numpy()
    return value


def warmup_bars(indicators: list[Indicator]) -> int:
    """Bars before every warm-up indicator has a value (first non-NaN; 0 when never)."""
    nbars = 0
    for ind in indicators:
        if not ind.warmup:
            continue
        values = ind.values
        try:
            nan = np.isnan(values if values.dtype.kind == "f" else values.astype(float))
        except (TypeError, ValueError):
            continue
        if nan.size:
            first = nan.argmin(axis=-1)
            nbars = max(nbars, int(first if nan.ndim == 1 else first.max()))
    return nbars
