"""The simulated broker of one paper account: the engine's fill rules and cost model, bar by bar.

Orders decided on a bar fill from the next bar on, exactly as in ``quanta.engine`` (docs/engine.md):
market orders at the open; limit buys when the low reaches the limit, at ``min(open, limit)``; stop buys
when the high reaches the stop, at ``max(open, stop)``; a stop-limit becomes a limit once its stop
triggers (waiting a bar when both are reached and the limit is beyond the stop); sells mirrored. The
account nets (the engine's ``hedging=False``): an order first reduces an opposite position at the fill
price (slipped, without spread), then opens the rest at the price with spread and slippage; the
proportional commission is charged on both parts. A relative order (``|size|`` a fraction of the
available margin) is sized at the fill price with the engine's own ``relative_units``; an order the
margin cannot pay is rejected.

The state is a function of the fills: ``Account.replay(fills)`` rebuilds it after a restart. The broker
fills an order id at most once (``accept`` ignores ids it has seen) and numbers fills 1, 2, 3…
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from math import copysign

from quanta.engine.broker import relative_units
from quanta.engine.costs import FractionCommission
from quanta.paper.events import FillEvent, OrderEvent, OrderKind
from quanta.paper.models import PaperCosts
from quanta.streaming.events import Bar

INSUFFICIENT = "insufficient margin"
NOTHING_TO_CLOSE = "position already closed"


@dataclass(kw_only=True)
class Account:
    """Cash and positions from the fills: ``cash = capital − Σ (size × price + commission)``."""

    capital: float
    cash: float = 0.0
    positions: dict[str, float] = field(default_factory=dict)
    cost: dict[str, float] = field(default_factory=dict)
    """Σ size × price of the open position (its average price is ``cost / size``)."""
    commissions: float = 0.0
    seq: int = 0

    def __post_init__(self) -> None:
        self.cash = self.capital

    @classmethod
    def replay(cls, capital: float, fills: Iterable[FillEvent]) -> Account:
        """The account after ``fills`` (in seq order)."""
        account = cls(capital=capital)
        for fill in fills:
            account.apply(fill)
        return account

    def apply(self, fill: FillEvent) -> None:
        """Book one fill."""
        self.seq = fill.seq
        self.cash += fill.cash_flow
        self.commissions += fill.commission
        before = self.positions.get(fill.symbol, 0.0)
        after = before + fill.size
        if not after:
            self.positions.pop(fill.symbol, None)
            self.cost.pop(fill.symbol, None)
            return
        self.positions[fill.symbol] = after
        if before and (before > 0) == (after > 0) and abs(after) < abs(before):
            self.cost[fill.symbol] = self.cost[fill.symbol] * after / before  # a reduction keeps the average
        elif before and (before > 0) == (after > 0):
            self.cost[fill.symbol] = self.cost[fill.symbol] + fill.size * fill.price
        else:  # opened, or reversed through zero: the new position is at the fill price
            self.cost[fill.symbol] = after * fill.price

    def equity(self, prices: Mapping[str, float]) -> float:
        """Cash plus every position marked at ``prices``."""
        return self.cash + sum(size * prices[s] for s, size in self.positions.items())

    def avg_price(self, symbol: str) -> float:
        """The average price of the open position in ``symbol`` (0 when flat)."""
        size = self.positions.get(symbol, 0.0)
        return self.cost[symbol] / size if size else 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class StepResult:
    """What one bar did: fills, rejected orders (id, reason) and stop-limit orders whose stop triggered."""

    fills: list[FillEvent]
    rejected: list[tuple[str, str]]
    triggered: list[str]


@dataclass(kw_only=True)
class _Working:
    order: OrderEvent
    stop: float | None
    rank: tuple[int, int]
    """Queue position, as the engine queues: closes ahead, the latest first; the others in arrival order."""


class PaperBroker:
    """Fills one account's orders against its bars (see the module docstring).

    A restarted broker is given the account's ``fills`` (in seq order), its ``working`` orders in
    arrival order (as stored, or as :attr:`working` returns them) and every order id it had ``seen``.
    """

    def __init__(
        self,
        account: str,
        *,
        capital: float,
        costs: PaperCosts,
        fractional: bool = False,
        fills: Iterable[FillEvent] = (),
        working: Iterable[OrderEvent] = (),
        seen: Iterable[str] = (),
    ) -> None:
        self.name = account
        self.account = Account.replay(capital, fills)
        self._commission = FractionCommission(rate=costs.commission)
        self._spread = costs.spread
        self._slip = costs.slippage
        self._fractional = fractional
        self._arrivals = 0
        self._working: list[_Working] = []
        self._seen = set(seen)
        for order in working:
            self._queue(order)
        self._marks: dict[str, float] = {}

    @property
    def working(self) -> list[OrderEvent]:
        """Orders waiting to fill, in arrival order — what ``working=`` takes back (a stop-limit whose stop
        triggered has lost its stop)."""
        arrived = sorted(self._working, key=lambda w: abs(w.rank[1]))
        return [dataclasses.replace(w.order, stop=w.stop) for w in arrived]

    @property
    def seen(self) -> frozenset[str]:
        """Every order id accepted so far (filled, rejected or working)."""
        return frozenset(self._seen)

    def accept(self, order: OrderEvent) -> bool:
        """Queue ``order`` unless its id was seen before; True when it is new."""
        if order.order_id in self._seen:
            return False
        self._queue(order)
        return True

    def _queue(self, order: OrderEvent) -> None:
        self._seen.add(order.order_id)
        self._arrivals += 1
        rank = (0, -self._arrivals) if order.reduce_only else (1, self._arrivals)
        self._working.append(_Working(order=order, stop=order.stop, rank=rank))
        self._working.sort(key=lambda w: w.rank)

    def step(self, bars: Mapping[str, Bar]) -> StepResult:
        """Fill what can fill in these bars (one window, every symbol of the account)."""
        self._marks = {s: b.open for s, b in bars.items()}
        fills: list[FillEvent] = []
        rejected: list[tuple[str, str]] = []
        triggered: list[str] = []
        for working in list(self._working):
            bar = bars.get(working.order.symbol)
            if bar is None:
                continue
            had_stop = working.stop is not None
            price = self._trigger(working, bar)
            if had_stop and working.stop is None and working.order.limit is not None:
                triggered.append(working.order.order_id)
            if price is None:
                continue
            self._working.remove(working)
            fill = self._execute(working.order, price, bar)
            if isinstance(fill, str):
                rejected.append((working.order.order_id, fill))
            else:
                fills.append(fill)
        return StepResult(fills=fills, rejected=rejected, triggered=triggered)

    # ---- the engine's rules ------------------------------------------------------------------------------

    @staticmethod
    def _trigger(working: _Working, bar: Bar) -> float | None:
        order, is_long = working.order, working.order.size > 0
        stop = working.stop
        if stop is not None:
            if not (bar.high >= stop if is_long else bar.low <= stop):
                return None
            working.stop = None
        limit = order.limit if order.kind in {OrderKind.LIMIT, OrderKind.STOP_LIMIT} else None
        if limit is not None:
            if not (bar.low <= limit if is_long else bar.high >= limit):
                return None
            if stop is not None and (limit <= stop if is_long else limit >= stop):
                return None  # pessimistic: the limit was reached before the stop triggered
            ref = bar.open if stop is None else stop
            return min(ref, limit) if is_long else max(ref, limit)
        if stop is not None:
            return max(bar.open, stop) if is_long else min(bar.open, stop)
        return bar.open

    def _margin(self, account: Account | None = None) -> float:
        """Equity minus the margin of open positions, marked at this bar's opens (as the engine does)."""
        account = account or self.account
        equity = account.equity(self._marks)
        used = sum(abs(size) * self._marks[s] for s, size in account.positions.items())
        return max(0.0, equity - used)

    def _units(self, order: OrderEvent, price: float) -> tuple[float, float]:
        if order.reduce_only:
            held = self.account.positions.get(order.symbol, 0.0)
            size = copysign(min(abs(order.size), abs(held)), order.size) if held * order.size < 0 else 0.0
            return size, 0.0
        if not order.relative:
            per_unit = self._commission(order.size, price) / abs(order.size)
            return order.size, self._entry_price(order.size, price) + per_unit
        return relative_units(
            self._margin() * abs(order.size),
            price,
            order.size,
            spread=self._spread,
            commission=self._commission,
            proportional=True,
            fractional=self._fractional,
            slip=self._slip,
        )

    def _entry_price(self, units: float, price: float) -> float:
        adj = price * (1 + copysign(self._spread, units))
        return adj * (1 + copysign(self._slip, units)) if self._slip else adj

    def _execute(self, order: OrderEvent, price: float, bar: Bar) -> FillEvent | str:
        units, appc = self._units(order, price)
        need = units if self._fractional else float(int(units))
        if not need:
            return NOTHING_TO_CLOSE if order.reduce_only else INSUFFICIENT
        held = self.account.positions.get(order.symbol, 0.0)
        closing = -copysign(min(abs(need), abs(held)), held) if held and (held > 0) != (need > 0) else 0.0
        parts: list[tuple[float, float, float]] = []  # (signed units, price, commission)
        after = self.account
        if closing:
            exit_price = price * (1 - copysign(self._slip, held)) if self._slip else price
            parts.append((closing, exit_price, self._commission(-closing, exit_price)))
            need -= closing
            after = copy.deepcopy(self.account)
            after.apply(self._fill(order, bar, parts))
        if need and abs(need) * appc > self._margin(after):
            if not closing:
                return INSUFFICIENT
            need = 0.0
        if need:
            adj = self._entry_price(need, price)
            parts.append((need, adj, self._commission(need, adj)))
        fill = self._fill(order, bar, parts)
        self.account.apply(fill)
        return fill

    def _fill(self, order: OrderEvent, bar: Bar, parts: list[tuple[float, float, float]]) -> FillEvent:
        """One fill of ``parts`` (a closing and an opening part are one fill at their average price)."""
        size = sum(p[0] for p in parts)
        price = parts[0][1] if len(parts) == 1 else sum(p[0] * p[1] for p in parts) / size
        return FillEvent(
            account=self.name,
            fill_id=f"{order.order_id}:f",
            order_id=order.order_id,
            seq=self.account.seq + 1,
            symbol=order.symbol,
            size=float(size),
            price=float(price),
            commission=float(sum(p[2] for p in parts)),
            ts=bar.start,
        )
