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

An entry order with a stop-loss or take-profit (``OrderEvent.stop_loss``/``take_profit``) opens a *lot*
(the engine's trade) carrying them: the broker then places a stop (``<entry>:sl``) and a limit
(``<entry>:tp``) closing that lot, one cancelling the other, queued as the engine queues them (the
stop-loss ahead with the closes, the take-profit behind). After a market entry they are checked in the
entry bar too, after a stop entry when its take-profit is reached and its stop-loss is not; otherwise
from the next bar. Other orders reduce the lots oldest first, as the engine's ``hedging=False`` does.

The state is a function of the fills: ``Account.replay(fills)`` rebuilds it after a restart. The broker
fills an order id at most once (``accept`` ignores ids it has seen) and numbers fills 1, 2, 3…
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from math import copysign

from quanta.engine.broker import relative_units
from quanta.engine.costs import FractionCommission
from quanta.paper.events import FillEvent, OrderEvent, OrderKind
from quanta.paper.models import PaperCosts
from quanta.streaming.events import Bar, interval_ms

INSUFFICIENT = "insufficient margin"
NOTHING_TO_CLOSE = "position already closed"
SL, TP = ":sl", ":tp"


def bracket_parent(order_id: str) -> str | None:
    """The entry whose lot a stop-loss (``<entry>:sl``) or take-profit (``<entry>:tp``) order closes."""
    return order_id[: -len(SL)] if order_id.endswith((SL, TP)) else None


@dataclass(kw_only=True)
class _Lot:
    entry: str
    """The id of the order that opened it (its brackets are ``entry + SL`` and ``entry + TP``)."""
    size: float


class Lots:
    """Open lots per symbol, oldest first: the engine's open trades (``hedging=False``), from the fills."""

    def __init__(self, fills: Iterable[FillEvent] = ()) -> None:
        self._open: dict[str, list[_Lot]] = {}
        for fill in fills:
            self.book(fill)

    def size(self, entry: str, symbol: str) -> float:
        """The open size of the lot ``entry`` opened (0 once closed)."""
        return next((lot.size for lot in self._open.get(symbol, []) if lot.entry == entry), 0.0)

    def book(self, fill: FillEvent) -> tuple[list[str], bool]:
        """Apply ``fill``: a bracket reduces its lot, other fills the opposite lots oldest first and open
        a lot with the rest. Returns the lots it closed and whether it opened one."""
        lots = self._open.setdefault(fill.symbol, [])
        parent = bracket_parent(fill.order_id)
        if parent is not None:
            targets = [lot for lot in lots if lot.entry == parent]
        else:
            targets = [lot for lot in lots if (lot.size > 0) != (fill.size > 0)]
        need, closed = fill.size, []
        for lot in targets:
            take = -copysign(min(abs(need), abs(lot.size)), lot.size)
            lot.size, need = lot.size + take, need - take
            if not lot.size:
                lots.remove(lot)
                closed.append(lot.entry)
            if not need:
                break
        if need and parent is None:
            lots.append(_Lot(entry=fill.order_id, size=need))
        return closed, bool(need) and parent is None


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
    """What one bar did: fills, rejected orders (id, reason), stop-limit orders whose stop triggered,
    brackets placed (their entry opened a lot) and brackets cancelled (their lot closed)."""

    fills: list[FillEvent] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    triggered: list[str] = field(default_factory=list)
    opened: list[OrderEvent] = field(default_factory=list)
    canceled: list[str] = field(default_factory=list)


@dataclass(kw_only=True, eq=False)
class _Working:
    order: OrderEvent
    stop: float | None
    rank: tuple[int, int]
    """Queue position, as the engine queues: closes and stop-losses ahead, the latest first; the others
    (take-profits too) in arrival order."""


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
        fills = list(fills)
        self.account = Account.replay(capital, fills)
        self.lots = Lots(fills)
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

    def cancel(self, order_id: str) -> bool:
        """Take the working order ``order_id`` off the queue; True when it was working."""
        found = [w for w in self._working if w.order.order_id == order_id]
        for working in found:
            self._working.remove(working)
        return bool(found)

    def _queue(self, order: OrderEvent) -> None:
        self._seen.add(order.order_id)
        self._arrivals += 1
        front = order.reduce_only and not order.order_id.endswith(TP)
        rank = (0, -self._arrivals) if front else (1, self._arrivals)
        self._working.append(_Working(order=order, stop=order.stop, rank=rank))
        self._working.sort(key=lambda w: w.rank)

    def step(self, bars: Mapping[str, Bar]) -> StepResult:
        """Fill what can fill in these bars (one window, every symbol of the account)."""
        self._marks = {s: b.open for s, b in bars.items()}
        result = StepResult()
        while self._pass(bars, result):  # brackets checked in their entry's bar: the queue again
            pass
        return result

    def _pass(self, bars: Mapping[str, Bar], result: StepResult) -> bool:
        again = False
        for working in list(self._working):
            bar = bars.get(working.order.symbol)
            if bar is None or working not in self._working:  # an earlier fill cancelled it (OCO)
                continue
            had_stop = working.stop is not None
            price = self._trigger(working, bar)
            if had_stop and working.stop is None and working.order.limit is not None:
                result.triggered.append(working.order.order_id)
            if price is None:
                continue
            self._working.remove(working)
            order = working.order
            is_exit = bracket_parent(order.order_id) is not None
            fill = self._exit(order, price, bar) if is_exit else self._execute(order, price, bar)
            if isinstance(fill, str):
                result.rejected.append((order.order_id, fill))
                continue
            result.fills.append(fill)
            again = self._book(order, fill, bar, result) or again
        return again

    def _book(self, order: OrderEvent, fill: FillEvent, bar: Bar, result: StepResult) -> bool:
        """Book ``fill`` on the lots: cancel the brackets of lots it closed, place those of the lot it
        opened. True when the new brackets must be checked in this bar already (the engine's rule)."""
        closed, opened = self.lots.book(fill)
        for entry in closed:
            for working in [w for w in self._working if bracket_parent(w.order.order_id) == entry]:
                self._working.remove(working)
                result.canceled.append(working.order.order_id)
        if not opened or (order.stop_loss is None and order.take_profit is None):
            return False
        ts = bar.start + interval_ms(bar.interval)
        for suffix, price in ((TP, order.take_profit), (SL, order.stop_loss)):  # the engine's order
            if price is not None:
                bracket = _bracket(order, suffix, price, -self.lots.size(order.order_id, order.symbol), ts)
                self._queue(bracket)
                result.opened.append(bracket)
        if order.kind is OrderKind.MARKET:
            return True
        return order.kind is OrderKind.STOP and _take_profit_first(order, bar)

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

    def _exit(self, order: OrderEvent, price: float, bar: Bar) -> FillEvent | str:
        """A bracket closes its whole lot at ``price`` (slipped, no spread), as the engine's exits."""
        held = self.lots.size(bracket_parent(order.order_id) or "", order.symbol)
        if not held:
            return NOTHING_TO_CLOSE
        exit_price = price * (1 - copysign(self._slip, held)) if self._slip else price
        fill = self._fill(order, bar, [(-held, exit_price, self._commission(held, exit_price))])
        self.account.apply(fill)
        return fill

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


def _bracket(entry: OrderEvent, suffix: str, price: float, size: float, ts: int) -> OrderEvent:
    """The stop-loss (a stop) or take-profit (a limit) order closing the lot ``entry`` opened."""
    loss = suffix == SL
    return OrderEvent(
        account=entry.account,
        order_id=entry.order_id + suffix,
        symbol=entry.symbol,
        size=size,
        kind=OrderKind.STOP if loss else OrderKind.LIMIT,
        stop=price if loss else None,
        limit=None if loss else price,
        ts=ts,
        reduce_only=True,
    )


def _take_profit_first(entry: OrderEvent, bar: Bar) -> bool:
    """A stop entry whose take-profit is reached in its bar while its stop-loss is not (unambiguous)."""
    sl, tp = entry.stop_loss, entry.take_profit
    if tp is None:
        return False
    if entry.size > 0:
        return tp <= bar.high and (sl if sl is not None else -math.inf) < bar.low
    return tp >= bar.low and (sl if sl is not None else math.inf) > bar.high
