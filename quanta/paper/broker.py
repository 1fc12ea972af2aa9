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
from the next bar. A close of one lot (the engine's ``trade.close(portion)``, its id naming the lot:
``<entry>:close:<bar start>:<n>``) reduces that lot by its size, slipped and without spread, as the
engine's; its brackets then close what is left of it, or are cancelled with it. Other orders reduce the
lots oldest first, as the engine's ``hedging=False`` does.

An entry with a trailing stop (``OrderEvent.trail``/``trail_pct``) gives its lot a stop-loss at the
tighter of its ``stop_loss`` and the trail behind the entry price; after each bar's fills the broker
moves it behind the bar's high (a short's: low), only tightening and in place (as the engine's
``end_bar``), or places a new one (``<entry>:trail:<bar start>``) if the strategy had cancelled it. A
stop-loss or take-profit the strategy sets later is an order of its own naming its lot
(``<entry>:sl:<bar start>``, ``<entry>:tp:<bar start>``; the one it replaces comes as a cancel).

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
from quanta.paper.events import (
    SL,
    TP,
    TRAIL,
    FillEvent,
    OrderEvent,
    OrderKind,
    bracket_parent,
    is_take_profit,
    lot_of,
)
from quanta.paper.models import PaperCosts
from quanta.streaming.events import Bar, interval_ms

__all__ = [
    "INSUFFICIENT",
    "NOTHING_TO_CLOSE",
    "SL",
    "TP",
    "Account",
    "Lots",
    "PaperBroker",
    "StepResult",
    "Trail",
    "bracket_parent",
]

INSUFFICIENT = "insufficient margin"
NOTHING_TO_CLOSE = "position already closed"


@dataclass(frozen=True, slots=True)
class Trail:
    """A trailing stop-loss: a price ``distance`` (the engine's ``trail``) or a ``fraction``
    (``trail_pct``) behind the best price."""

    distance: float | None = None
    fraction: float | None = None

    @classmethod
    def of(cls, order: OrderEvent) -> Trail | None:
        """The trailing stop of an entry order, if it has one."""
        if order.trail is None and order.trail_pct is None:
            return None
        return cls(order.trail, order.trail_pct)

    def stop(self, extreme: float, size: float) -> float:
        """The stop-loss level behind ``extreme`` (a high for a long lot, a low for a short one)."""
        if self.distance is not None:
            return extreme - copysign(self.distance, size)
        return extreme * (1 - copysign(self.fraction or 0.0, size))


@dataclass(kw_only=True)
class _Lot:
    entry: str
    """The id of the order that opened it (its brackets are ``entry + SL`` and ``entry + TP``)."""
    size: float
    opened: int
    """Its place among every lot opened (the engine's order of trades)."""


class Lots:
    """Open lots per symbol, oldest first: the engine's open trades (``hedging=False``), from the fills."""

    def __init__(self, fills: Iterable[FillEvent] = ()) -> None:
        self._open: dict[str, list[_Lot]] = {}
        self._count = 0
        for fill in fills:
            self.book(fill)

    def open(self) -> list[tuple[str, str, float]]:
        """Every open lot as ``(symbol, entry, size)``, in the order they opened."""
        lots = [(symbol, lot) for symbol, held in self._open.items() for lot in held]
        return [(symbol, lot.entry, lot.size) for symbol, lot in sorted(lots, key=lambda x: x[1].opened)]

    def size(self, entry: str, symbol: str) -> float:
        """The open size of the lot ``entry`` opened (0 once closed)."""
        return next((lot.size for lot in self._open.get(symbol, []) if lot.entry == entry), 0.0)

    def book(self, fill: FillEvent) -> tuple[list[str], bool]:
        """Apply ``fill``: a bracket or close of a lot reduces that lot, other fills the opposite lots
        oldest first and open a lot with the rest. Returns the lots it closed and whether it opened one."""
        lots = self._open.setdefault(fill.symbol, [])
        parent = lot_of(fill.order_id)
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
            self._count += 1
            lots.append(_Lot(entry=fill.order_id, size=need, opened=self._count))
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
    brackets placed (their entry opened a lot), brackets cancelled (their lot closed), stop-losses a
    trailing stop moved at the bar's close (id, new stop), and those it placed again (the strategy had
    cancelled them)."""

    fills: list[FillEvent] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    triggered: list[str] = field(default_factory=list)
    opened: list[OrderEvent] = field(default_factory=list)
    canceled: list[str] = field(default_factory=list)
    trailed: list[tuple[str, float]] = field(default_factory=list)
    placed: list[OrderEvent] = field(default_factory=list)


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
    arrival order (as stored, or as :attr:`working` returns them), every order id it had ``seen`` and
    the ``trails`` of its trailing entries (by entry id, as :attr:`trails` returns them).
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
        trails: Mapping[str, Trail] | None = None,
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
        self._trails = dict(trails or {})
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
    def trails(self) -> dict[str, Trail]:
        """The trailing stops of the entries that had one, by entry id."""
        return dict(self._trails)

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
        front = order.reduce_only and not is_take_profit(order.order_id)
        rank = (0, -self._arrivals) if front else (1, self._arrivals)
        self._working.append(_Working(order=order, stop=order.stop, rank=rank))
        self._working.sort(key=lambda w: w.rank)

    def step(self, bars: Mapping[str, Bar]) -> StepResult:
        """Fill what can fill in these bars (one window, every symbol of the account)."""
        self._marks = {s: b.open for s, b in bars.items()}
        result = StepResult()
        while self._pass(bars, result):  # brackets checked in their entry's bar: the queue again
            pass
        self._trail(bars, result)
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
            is_exit = lot_of(order.order_id) is not None
            fill = self._exit(order, price, bar) if is_exit else self._execute(order, price, bar)
            if isinstance(fill, str):
                result.rejected.append((order.order_id, fill))
                continue
            result.fills.append(fill)
            again = self._book(order, fill, price, bar, result) or again
        return again

    def _book(self, order: OrderEvent, fill: FillEvent, price: float, bar: Bar, result: StepResult) -> bool:
        """Book ``fill`` (at the trigger ``price``) on the lots: cancel the brackets of lots it closed,
        place those of the lot it opened. True when the new brackets must be checked in this bar already
        (the engine's rule)."""
        closed, opened = self.lots.book(fill)
        for entry in closed:
            for working in [w for w in self._working if bracket_parent(w.order.order_id) == entry]:
                self._working.remove(working)
                result.canceled.append(working.order.order_id)
        trail = Trail.of(order)
        if not opened or (order.stop_loss is None and order.take_profit is None and trail is None):
            return False
        size = self.lots.size(order.order_id, order.symbol)
        stop_loss = order.stop_loss
        if trail is not None:  # the engine's: the tighter of the stop-loss and the trail behind the entry
            self._trails[order.order_id] = trail
            stop_loss = _tighter(stop_loss, trail.stop(self._entry_price(size, price), size), size)
        ts = bar.start + interval_ms(bar.interval)
        levels = ((TP, order.take_profit), (SL, stop_loss))  # the engine's order
        for suffix, level in [(suffix, level) for suffix, level in levels if level]:
            bracket = _bracket(
                order.account, order.symbol, order.order_id + suffix, price=level, size=-size, ts=ts
            )
            self._queue(bracket)
            result.opened.append(bracket)
        if order.kind is OrderKind.MARKET:
            return True
        tp_first = _take_profit_first(order.size, stop_loss, order.take_profit, bar)
        return order.kind is OrderKind.STOP and tp_first

    def _trail(self, bars: Mapping[str, Bar], result: StepResult) -> None:
        """Move the trailing stop-losses after the bar's close, as the engine does: behind the bar's high
        (low for a short), only tightening; a lot whose stop-loss the strategy cancelled gets a new one."""
        for symbol, entry, size in self.lots.open():
            trail, bar = self._trails.get(entry), bars.get(symbol)
            if trail is None or bar is None:
                continue
            level = trail.stop(bar.high if size > 0 else bar.low, size)
            working = next((w for w in self._working if _stop_loss_of(w.order, entry)), None)
            current = None if working is None else working.stop
            if current is not None and _tighter(current, level, size) == current:
                continue
            if working is not None:
                working.stop = level
                result.trailed.append((working.order.order_id, level))
                continue
            ts = bar.start + interval_ms(bar.interval)
            bracket = _bracket(
                self.name, symbol, f"{entry}{TRAIL}:{bar.start}", price=level, size=-size, ts=ts
            )
            self._queue(bracket)
            result.placed.append(bracket)

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
        """A bracket closes its whole lot, a close at most its own size of it (the engine's
        ``_fill_exit``), at ``price`` slipped, without spread, as the engine's exits."""
        held = self.lots.size(lot_of(order.order_id) or "", order.symbol)
        if not held:
            return NOTHING_TO_CLOSE
        if bracket_parent(order.order_id) is None:  # a close: the lot's size at most
            held = copysign(min(abs(order.size), abs(held)), held)
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


def _bracket(account: str, symbol: str, order_id: str, *, price: float, size: float, ts: int) -> OrderEvent:
    """The stop-loss (a stop) or take-profit (a limit) order ``order_id`` closing a lot of ``size``."""
    loss = not is_take_profit(order_id)
    return OrderEvent(
        account=account,
        order_id=order_id,
        symbol=symbol,
        size=size,
        kind=OrderKind.STOP if loss else OrderKind.LIMIT,
        stop=price if loss else None,
        limit=None if loss else price,
        ts=ts,
        reduce_only=True,
    )


def _stop_loss_of(order: OrderEvent, entry: str) -> bool:
    """Whether ``order`` is a stop-loss of the lot ``entry`` opened."""
    return bracket_parent(order.order_id) == entry and not is_take_profit(order.order_id)


def _tighter(level: float | None, other: float, size: float) -> float:
    """The stop-loss nearer the price: the higher one for a long lot, the lower one for a short lot."""
    if level is None:
        return other
    return max(level, other) if size > 0 else min(level, other)


def _take_profit_first(size: float, sl: float | None, tp: float | None, bar: Bar) -> bool:
    """A stop entry whose take-profit is reached in its bar while its stop-loss is not (unambiguous)."""
    if tp is None:
        return False
    if size > 0:
        return tp <= bar.high and (sl if sl is not None else -math.inf) < bar.low
    return tp >= bar.low and (sl if sl is not None else math.inf) > bar.high
