"""The simulated broker: one cash account, an order queue and open trades over many symbols.

Fill rules follow backtesting.py 0.6.6 (see docs/engine.md): market orders fill at the next bar's
open (or the signal bar's close with ``trade_on_close``), stop and limit orders fill when the bar's
range reaches them (at the open if it gapped through), and when several orders can fill in one bar
the queue order decides (stop-losses and trade closes first).

The account is a margin account: ``balance`` changes only by realised P&L and commissions, and
``equity = balance + Σ size × (price - entry_price)``. The cash a cash-account would show is
``balance - Σ size × entry_price``.
"""

from __future__ import annotations

import math
from math import copysign, inf
from typing import Any

from quanta.engine.config import BacktestConfig
from quanta.engine.costs import CommissionFn, FractionCommission, as_commission
from quanta.engine.errors import OrderError
from quanta.engine.market import Market
from quanta.engine.orders import CANCELED, FILLED, OPEN, REJECTED, Order, Trade

Snapshot = tuple[int, float, tuple[float, ...], tuple[float, ...]]

_INSUFFICIENT = "insufficient margin"


class Broker:
    """Fills orders bar by bar and keeps the account. Strategies reach it through their API."""

    def __init__(self, market: Market, config: BacktestConfig) -> None:
        self.symbols = market.symbols
        self._open = list(market.open)
        self._high = list(market.high)
        self._low = list(market.low)
        self._close = list(market.close)
        self._volume = list(market.volume)
        self._commission = as_commission(config.commission)
        self._proportional = isinstance(self._commission, FractionCommission)
        self._spread = config.spread
        self._slippage = config.slippage_model()
        self._lev = 1 / config.margin
        self._toc = config.trade_on_close
        self._hedging = config.hedging
        self._exclusive = config.exclusive_orders
        self._fractional = config.fractional
        self.cash0 = float(config.cash)
        self.balance = self.cash0
        self.orders: list[Order] = []
        self.targets: dict[int, Order] = {}
        self.trades: list[Trade] = []
        self.closed: list[Trade] = []
        self.log: list[Order] = []
        self.i = 0
        self.pos = [0.0] * len(self.symbols)
        self.cost = [0.0] * len(self.symbols)
        self.snapshots: list[Snapshot] = []
        self.n_trailing = 0
        self.bankrupt_bar: int | None = None
        self._dirty = False
        self._trade_ids = 0
        self._mark: tuple[list[Any], int] = (self._open, 0)
        self.lo, self.hi = -inf, inf  # solvency guard on symbol 0's close: end_bar() only outside it

    # -- account ---------------------------------------------------------------------------

    def next_trade_id(self) -> int:
        """A fresh trade id."""
        self._trade_ids += 1
        return self._trade_ids - 1

    def last_price(self, sym: int) -> float:
        """Close of the current bar."""
        return float(self._close[sym][self.i])

    def _equity_on(self, arrays: list[Any], j: int) -> float:
        upl = 0.0
        for s, size in enumerate(self.pos):
            if size:
                upl += arrays[s][j] * size - self.cost[s]
        return self.balance + upl

    @property
    def equity(self) -> float:
        """Balance plus open trades marked at the current bar's close."""
        return float(self._equity_on(self._close, self.i))

    def margin_available(self) -> float:
        """Equity minus margin used by open trades, marked at the prices known at fill time."""
        arrays, j = self._mark
        used = 0.0
        for t in self.trades:
            used += abs(t.size) * arrays[t.sym][j] / self._lev
        return max(0.0, self._equity_on(arrays, j) - used)

    def _refresh(self, sym: int) -> None:
        size, cost = 0.0, 0.0
        for t in self.trades:
            if t.sym == sym:
                size += t.size
                cost += t.size * t.entry_price
        self.pos[sym] = size
        self.cost[sym] = cost
        self._dirty = True

    def _snapshot(self, i: int) -> None:
        snap = (i, self.balance, tuple(self.pos), tuple(self.cost))
        if self.snapshots and self.snapshots[-1][0] == i:
            self.snapshots[-1] = snap
        else:
            self.snapshots.append(snap)
        self._dirty = False
        self._set_guard()

    def _set_guard(self) -> None:
        """Close prices of symbol 0 between which equity surely stays positive (with 1e-9 slack)."""
        if not self.trades and self.balance > 0:
            self.lo, self.hi = -inf, inf
            return
        size = self.pos[0]
        if self.n_trailing or len(self.pos) > 1 or self.balance <= 0 or not size:
            self.lo, self.hi = inf, -inf  # check every bar
            return
        x = (self.cost[0] - self.balance) / size  # equity <= 0 where close × size <= cost - balance
        slack = abs(x) * 1e-9 + 1e-300
        self.lo, self.hi = (x + slack, inf) if size > 0 else (-inf, x - slack)

    # -- placing ---------------------------------------------------------------------------

    def _register(self, order: Order, *, front: bool = False) -> Order:
        self.log.append(order)
        order._in_book = True
        if front:
            self.orders.insert(0, order)
        else:
            self.orders.append(order)
        return order

    def new_order(
        self,
        sym: int,
        size: float,
        *,
        relative: bool,
        limit: float | None = None,
        stop: float | None = None,
        sl: float | None = None,
        tp: float | None = None,
        trail: float | None = None,
        trail_pct: float | None = None,
        tag: object = None,
    ) -> Order:
        """Queue an entry order after checking its prices (backtesting.py's SL < entry < TP rule)."""
        for name, value in (("limit", limit), ("stop", stop), ("sl", sl), ("tp", tp), ("trail", trail)):
            if value is not None and not (math.isfinite(value) and value > 0):
                raise OrderError(f"{name} must be a positive finite price, got {value}")
        if trail_pct is not None and not 0 < trail_pct < 1:
            raise OrderError(f"trail_pct must be a fraction in (0, 1), got {trail_pct}")
        ref = limit or stop or self.last_price(sym) * (1 + copysign(self._spread, size))
        if size > 0 and not (sl or -inf) < ref < (tp or inf):
            raise OrderError(f"long orders require SL ({sl}) < entry ({ref}) < TP ({tp})")
        if size < 0 and not (tp or -inf) < ref < (sl or inf):
            raise OrderError(f"short orders require TP ({tp}) < entry ({ref}) < SL ({sl})")
        kind = "stop_limit" if limit and stop else "limit" if limit else "stop" if stop else "market"
        order = Order(
            self,
            sym=sym,
            size=float(size),
            kind=kind,
            relative=relative,
            limit=limit,
            stop=stop,
            sl=sl,
            tp=tp,
            trail=trail,
            trail_pct=trail_pct,
            tag=tag,
        )
        if self._exclusive:
            self._clear_symbol(sym)
        return self._register(order)

    def _clear_symbol(self, sym: int) -> None:
        for o in list(self.orders):
            if o.sym == sym and not o.is_contingent:
                self.cancel(o, "canceled by exclusive_orders")
        for t in list(self.trades):
            if t.sym == sym:
                self.close_trade(t, 1.0)

    def target(self, sym: int, weight: float, tag: object = None) -> Order:
        """Queue a rebalance of ``sym`` to ``weight`` of equity, sized when it fills."""
        if not math.isfinite(weight):
            raise OrderError(f"target weight must be finite, got {weight}")
        previous = self.targets.pop(sym, None)
        if previous is not None:
            previous.status, previous.reason = CANCELED, "replaced by a newer target"
        order = Order(self, sym=sym, size=weight, kind="target", weight=weight, tag=tag)
        self.log.append(order)
        self.targets[sym] = order
        return order

    def close_trade(self, trade: Trade, portion: float) -> None:
        """Queue a market order closing ``portion`` of ``trade`` (ahead of other orders)."""
        if not 0 < portion <= 1:
            raise OrderError(f"portion must be in (0, 1], got {portion}")
        if trade.exit_bar is not None:
            return
        units = abs(trade.size) * portion
        size = units if self._fractional else max(1, round(units))
        order = Order(
            self, sym=trade.sym, size=copysign(size, -trade.size), kind="close", parent=trade, tag=trade.tag
        )
        self._register(order, front=True)

    def set_contingent(self, trade: Trade, kind: str, price: float | None) -> None:
        """Set, move or (with None) cancel a trade's stop-loss or take-profit order."""
        if price is not None and not (math.isfinite(price) and price > 0):
            raise OrderError(f"{kind} must be a positive finite price, got {price}")
        current = trade.sl_order if kind == "sl" else trade.tp_order
        if current is not None:
            self.cancel(current, f"{kind} moved")
        if not price or trade.exit_bar is not None:
            return
        order = Order(
            self,
            sym=trade.sym,
            size=-trade.size,
            kind=kind,
            stop=price if kind == "sl" else None,
            limit=price if kind == "tp" else None,
            parent=trade,
            tag=trade.tag,
        )
        if kind == "sl":
            trade.sl_order = order
        else:
            trade.tp_order = order
        self._register(order, front=kind == "sl")

    def cancel(self, order: Order, reason: str) -> None:
        """Take an open order off the book."""
        if order.status != OPEN:
            return
        if order.kind == "target":
            self.targets.pop(order.sym, None)
        self._drop(order)
        order.status, order.reason = CANCELED, reason
        trade = order.parent
        if trade is not None:
            if order is trade.sl_order:
                trade.sl_order = None
            elif order is trade.tp_order:
                trade.tp_order = None

    def replace(self, order: Order, changes: dict[str, Any]) -> Order:
        """Cancel ``order`` and place a copy with ``changes``; contingent orders move in place."""
        allowed = {"size", "limit", "stop", "sl", "tp", "trail", "trail_pct", "tag"}
        unknown = set(changes) - allowed
        if unknown:
            raise OrderError(f"cannot replace {sorted(unknown)}; allowed: {sorted(allowed)}")
        if order.status != OPEN:
            raise OrderError(f"order #{order.id} is {order.status}; only open orders can be replaced")
        trade = order.parent
        if trade is not None and order.kind in ("sl", "tp"):
            self.set_contingent(trade, order.kind, changes.get("sl" if order.kind == "sl" else "tp"))
            return trade.sl_order if order.kind == "sl" else trade.tp_order  # type: ignore[return-value]
        if order.kind in ("target", "close"):
            raise OrderError(f"{order.kind} orders cannot be replaced; cancel and place a new one")
        fields = {k: getattr(order, k) for k in allowed if k != "size"}
        fields |= {k: v for k, v in changes.items() if k != "size"}
        size = float(changes.get("size", abs(order.size)))
        relative = order.relative if "size" not in changes else size < 1
        self.cancel(order, "replaced")
        return self.new_order(order.sym, copysign(size, order.size), relative=relative, **fields)

    def _drop(self, order: Order) -> None:
        if order._in_book:
            order._in_book = False
            self.orders.remove(order)

    # -- filling ---------------------------------------------------------------------------

    def process(self, i: int) -> None:
        """Fill what can fill in bar ``i``."""
        self.i = i
        self._mark = (self._close, i - 1) if self._toc else (self._open, i)
        if self.targets:
            self._process_targets(i)
        if self.orders:
            self._process_orders(i)
        if self._dirty:
            self._snapshot(i)

    def end_bar(self, i: int) -> bool:
        """Trail stops and check solvency after bar ``i``; True when the account is wiped out."""
        if self.n_trailing:
            self._trail(i)
        if not self.trades and self.balance > 0:
            return False
        if self._equity_on(self._close, i) > 0:
            return False
        for trade in list(self.trades):
            self._close_trade(trade, float(self._close[trade.sym][i]), i)
        self.balance = 0.0
        self.bankrupt_bar = i
        self._snapshot(i)
        return True

    def _process_orders(self, i: int) -> None:
        queue = list(self.orders)
        if self._toc:  # market orders fill at the last close, before anything in bar i happens
            queue.sort(key=_after_close)
            self._mark = (self._close, i - 1)
        reprocess = False
        for order in queue:
            if not order._in_book:
                continue
            if self._toc and _after_close(order):
                self._mark = (self._open, i)
            fill = self._trigger(order, i)
            if fill is None:
                continue
            price, stop = fill
            contingent = order.is_contingent
            is_market = order.limit is None and stop is None
            t_idx = i - 1 if is_market and self._toc and not contingent else i
            if order.parent is not None:
                self._fill_exit(order, price, t_idx)
            elif self._fill_entry(order, price, stop, t_idx, is_market):
                reprocess = True
        if reprocess:
            self._process_orders(i)

    def _trigger(self, order: Order, i: int) -> tuple[float, float | None] | None:
        s = order.sym
        high, low = self._high[s][i], self._low[s][i]
        is_long = order.size > 0
        stop = order.stop
        if stop is not None:
            if not (high >= stop if is_long else low <= stop):
                return None
            order.stop = None
        limit = order.limit
        if limit is not None:
            if not (low <= limit if is_long else high >= limit):
                return None
            if stop is not None and (limit <= stop if is_long else limit >= stop):
                return None  # pessimistic: the limit was reached before the stop triggered
            ref = self._open[s][i] if stop is None else stop
            return (min(ref, limit) if is_long else max(ref, limit)), stop
        price = self._close[s][i - 1] if self._toc and not order.is_contingent else self._open[s][i]
        if stop is not None:
            price = max(price, stop) if is_long else min(price, stop)
        return price, stop

    def _fill_exit(self, order: Order, price: float, t_idx: int) -> None:
        trade = order.parent
        assert trade is not None
        size = copysign(min(abs(trade.size), abs(order.size)), order.size)
        if trade.exit_bar is None:
            order.status, order.fill_bar, order.fill_size = FILLED, t_idx, size
            order.fill_price = self._reduce_trade(trade, price, size, t_idx)
        elif order.status == OPEN:
            order.status, order.reason = CANCELED, "trade already closed"
        self._drop(order)

    def _fill_entry(
        self, order: Order, price: float, stop: float | None, t_idx: int, is_market: bool
    ) -> bool:
        units, appc = self._units(order, price)
        if not units:
            self._reject(order, _INSUFFICIENT)
            return False
        trade = self._execute(order, units, price, t_idx, clip=False, appc=appc)
        if trade is None:
            return False
        if not (trade.sl_order or trade.tp_order):
            return False
        if is_market:
            return True
        s, i = order.sym, self.i
        high, low = self._high[s][i], self._low[s][i]
        sl, tp = trade.sl, trade.tp
        stop_then_tp = (order.size > 0 and tp is not None and tp <= high and (sl or -inf) < low) or (
            order.size < 0 and tp is not None and tp >= low and (sl or inf) > high
        )
        if stop is not None and order.limit is None and stop_then_tp:
            return True  # a stop entry then its TP: unambiguous, both go the same way
        if low <= (sl or -inf) <= high or low <= (tp or -inf) <= high:
            order.reason = "SL/TP reachable in the entry bar; checked from the next bar"
        return False

    def _entry_prices(self, sym: int, units: float, price: float) -> tuple[float, float]:
        """(fill price after spread and slippage, that price plus commission per unit)."""
        adj = price * (1 + copysign(self._spread, units))
        if self._slippage is not None:
            volume = float(self._volume[sym][self.i])
            adj *= 1 + copysign(self._slippage(units, price, volume), units)
        return adj, adj + self._commission(units, price) / abs(units)

    def _units(self, order: Order, price: float) -> tuple[float, float]:
        """Signed units to trade and the price-plus-commission per unit used to check margin."""
        if not order.relative:
            return order.size, self._entry_prices(order.sym, order.size, price)[1]
        budget = self.margin_available() * self._lev * abs(order.size)
        slip = 0.0
        if self._slippage is not None:
            estimate = copysign(budget / price, order.size)
            slip = self._slippage(estimate, price, float(self._volume[order.sym][self.i]))
        return relative_units(
            budget,
            price,
            order.size,
            spread=self._spread,
            commission=self._commission,
            proportional=self._proportional,
            fractional=self._fractional,
            slip=slip,
        )

    def _execute(
        self, order: Order, units: float, price: float, t_idx: int, *, clip: bool, appc: float | None = None
    ) -> Trade | None:
        """Fill ``units`` of ``order`` at ``price``: close opposite trades FIFO, then open the rest."""
        s = order.sym
        adj, own_appc = self._entry_prices(s, units, price)
        appc = own_appc if appc is None else appc
        need = units if self._fractional else float(int(units))
        if not self._hedging:
            need = self._close_opposite(s, need, price, t_idx)
        if need and clip:
            room = self.margin_available() * self._lev / appc
            room = room if self._fractional else float(int(room))
            if abs(need) > room:
                need, order.reason = copysign(room, need), "clipped to available margin"
        if abs(need) * appc > self.margin_available() * self._lev:
            self._reject(order, _INSUFFICIENT + (" (opposite trades were closed)" if need != units else ""))
            return None
        order.status, order.fill_bar, order.fill_size = FILLED, t_idx, units
        order.fill_price = adj if need else price
        self._drop(order)
        return self._open_trade(order, adj, need, t_idx) if need else None

    def _reject(self, order: Order, reason: str) -> None:
        self._drop(order)
        order.status, order.reason = REJECTED, reason

    def _close_opposite(self, sym: int, need: float, price: float, t_idx: int) -> float:
        for trade in list(self.trades):
            if trade.sym != sym or (trade.size > 0) == (need > 0):
                continue
            if abs(need) >= abs(trade.size):
                self._close_trade(trade, price, t_idx)
                need += trade.size
            else:
                self._reduce_trade(trade, price, need, t_idx)
                need = 0.0
            if not need:
                break
        return need

    def _reduce_trade(self, trade: Trade, price: float, size: float, t_idx: int) -> float:
        left = trade.size + size
        if not left:
            return self._close_trade(trade, price, t_idx)
        part = Trade(
            self,
            sym=trade.sym,
            size=-size,
            entry_price=trade.entry_price,
            entry_bar=trade.entry_bar,
            tag=trade.tag,
            entry_commission=trade.entry_commission * (-size / trade.size),
        )
        trade.entry_commission -= part.entry_commission
        trade.size = left
        for o in (trade.sl_order, trade.tp_order):
            if o is not None:
                o.size = -left
        return self._close_trade(part, price, t_idx, listed=False)

    def _close_trade(self, trade: Trade, price: float, t_idx: int, *, listed: bool = True) -> float:
        if listed:
            self.trades.remove(trade)
            if trade.trail is not None or trade.trail_pct is not None:
                self.n_trailing -= 1
            for o in (trade.sl_order, trade.tp_order):
                if o is not None and o.status == OPEN:
                    self._drop(o)
                    o.status, o.reason = CANCELED, "trade closed (OCO)"
                elif o is not None:
                    self._drop(o)
        if self._slippage is not None:
            volume = float(self._volume[trade.sym][self.i])
            price = price * (1 - copysign(self._slippage(trade.size, price, volume), trade.size))
        trade.exit_price, trade.exit_bar = price, t_idx
        exit_commission = self._commission(trade.size, price)
        self.balance += trade.size * (price - trade.entry_price) - exit_commission
        trade.commission = exit_commission + trade.entry_commission
        self.closed.append(trade)
        self._refresh(trade.sym)
        return price

    def _open_trade(self, order: Order, price: float, size: float, t_idx: int) -> Trade:
        commission = self._commission(size, price)
        trade = Trade(
            self,
            sym=order.sym,
            size=size,
            entry_price=price,
            entry_bar=t_idx,
            tag=order.tag,
            entry_commission=commission,
        )
        self.trades.append(trade)
        self.balance -= commission
        self._refresh(order.sym)
        if order.tp:
            self.set_contingent(trade, "tp", order.tp)
        sl = order.sl
        if order.trail is not None or order.trail_pct is not None:
            trade.trail, trade.trail_pct = order.trail, order.trail_pct
            self.n_trailing += 1
            sl = _tighter(sl, _trail_stop(trade, price), trade.size)
        if sl:
            self.set_contingent(trade, "sl", sl)
        return trade

    def _trail(self, i: int) -> None:
        for trade in self.trades:
            if trade.trail is None and trade.trail_pct is None:
                continue
            s = trade.sym
            extreme = self._high[s][i] if trade.size > 0 else self._low[s][i]
            new = _trail_stop(trade, float(extreme))
            current = trade.sl
            if current is None or _tighter(current, new, trade.size) != current:
                order = trade.sl_order
                if order is not None and order.stop is not None:
                    order.stop = order.trigger = new
                else:
                    self.set_contingent(trade, "sl", new)

    def _process_targets(self, i: int) -> None:
        arrays, j = self._mark
        equity = self._equity_on(arrays, j)
        t_idx = i - 1 if self._toc else i
        plans: list[tuple[Order, float, float]] = []
        for s, order in self.targets.items():
            price = float(arrays[s][j])
            want = (order.weight or 0.0) * equity / price
            want = want if self._fractional else float(int(want))
            plans.append((order, want - self.pos[s], price))
        self.targets.clear()
        plans.sort(key=lambda p: not _reduces(self.pos[p[0].sym], p[1]))
        for order, delta, price in plans:
            if not delta:
                order.status, order.fill_bar, order.fill_size, order.fill_price = FILLED, t_idx, 0.0, price
                continue
            self._execute(order, delta, price, t_idx, clip=True)


def _after_close(order: Order) -> bool:
    """False for market orders (filled at the previous close with ``trade_on_close``)."""
    return order.limit is not None or order.stop is not None or order.is_contingent


def _reduces(position: float, delta: float) -> bool:
    return position != 0 and (position > 0) != (delta > 0)


def _trail_stop(trade: Trade, extreme: float) -> float:
    if trade.trail is not None:
        return extreme - copysign(trade.trail, trade.size)
    return extreme * (1 - copysign(trade.trail_pct or 0.0, trade.size))


def _tighter(a: float | None, b: float, size: float) -> float:
    if a is None:
        return b
    return max(a, b) if size > 0 else min(a, b)


def relative_units(
    budget: float,
    price: float,
    size: float,
    *,
    spread: float,
    commission: CommissionFn,
    proportional: bool,
    fractional: bool,
    slip: float = 0.0,
) -> tuple[float, float]:
    """Units a fraction-of-margin order buys with ``budget``, and the per-unit cost used to size it.

    With a proportional commission this is backtesting.py's formula bit for bit; otherwise the
    commission per unit is estimated at the size the budget would buy before commission.
    """
    if proportional:
        ref = size
    else:
        guess = budget / (price * (1 + spread))
        ref = copysign(max(guess if fractional else float(int(guess)), 1.0), size)
    adj = price * (1 + copysign(spread, ref))
    if slip:
        adj *= 1 + copysign(slip, ref)
    appc = adj + commission(ref, price) / abs(ref)
    units = budget / appc if fractional else float(int(budget // appc))
    return (copysign(units, size) if units else 0.0), appc
