"""What a strategy decides on the latest bar: the engine re-run on the account's bars.

At each closed bar the runner runs ``quanta.engine.Backtest`` on every bar the account has seen and
takes the orders the strategy placed on the last one. The engine's simulated account fills exactly as
the paper broker does (same rules, same costs), so the strategy sees the position and equity it would
see live; and a runner that restarts decides again exactly the same orders with the same ids
(``<account>:<bar start>:<n>``) — restart-safe by construction. An entry's stop-loss and take-profit
travel on its order (the paper broker places them when the entry opens a lot, as the engine does);
a working order the strategy cancels on the last bar (``order.cancel()``, ``order.replace(…)``) comes
back as its record with ``cancel=True`` (the replacement is a new order). A trailing stop travels on
its entry (``trail``/``trail_pct``; the broker moves the lot's stop-loss after each bar, as the engine
does). A stop-loss or take-profit the strategy sets or moves on the last bar (``trade.sl = …``,
``trade.tp = …``, ``replace`` of a bracket) comes as a new order naming its lot,
``<entry>:sl:<bar start>`` / ``<entry>:tp:<bar start>``, with the cancel of the one it replaces; one it
cancels (``= None``, ``order.cancel()``) as that cancel alone. A close of one lot (``trade.close(portion)``;
``position.close()`` is one per lot) names it, ``<entry>:close:<bar start>:<n>``, so the broker reduces
that lot, as the engine does. Target orders are refused with :class:`UnsupportedOrderError`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from quanta.engine import Backtest
from quanta.engine.broker import Broker
from quanta.engine.errors import DataError
from quanta.engine.orders import OPEN, Order, Trade
from quanta.paper.events import CLOSE, SL, TP, TRAIL, OrderEvent, OrderKind
from quanta.paper.models import PaperSpec
from quanta.strategy import Strategy
from quanta.streaming.events import interval_ms

_KINDS = {
    "market": OrderKind.MARKET,
    "close": OrderKind.MARKET,
    "limit": OrderKind.LIMIT,
    "stop": OrderKind.STOP,
    "stop_limit": OrderKind.STOP_LIMIT,
}
_CONTINGENT = {"sl", "tp"}
_BY_STRATEGY = {"canceled by strategy", "replaced", "sl moved", "tp moved"}


class UnsupportedOrderError(ValueError):
    """The strategy placed an order paper trading cannot carry (targets)."""


@dataclass(kw_only=True)
class _Trace:
    """What the engine's broker did that its order log does not say."""

    log: list[Order] = field(default_factory=list)
    """The broker's orders (the order log's rows, in the same order)."""
    canceled: dict[int, int] = field(default_factory=dict)
    """Engine order id -> the bar the strategy cancelled it on."""
    entries: dict[int, int] = field(default_factory=dict)
    """Trade id -> the engine id of the order that opened it."""
    brackets: dict[int, tuple[str, int]] = field(default_factory=dict)
    """Stop-loss / take-profit engine order id -> who placed it (``entry``, ``set`` by the strategy,
    ``trail`` after the strategy cancelled a trailing stop's) and on which bar."""


@dataclass(frozen=True, slots=True)
class Window:
    """One bar window of every symbol of an account: ``bars[symbol] = (open, high, low, close, volume)``."""

    start: int
    bars: Mapping[str, tuple[float, float, float, float, float]]


def options(spec: PaperSpec) -> dict[str, Any]:
    """The engine options of an account."""
    costs = spec.costs
    return {
        "cash": spec.capital,
        "commission": costs.commission,
        "spread": costs.spread,
        "slippage": costs.slippage,
        "fractional": spec.fractional,
    }


def frame(windows: Sequence[Window], symbols: Sequence[str]) -> pd.DataFrame | dict[str, pd.DataFrame]:
    """The windows as the engine's data: one frame, or one per symbol on one index."""
    index = pd.to_datetime([w.start for w in windows], unit="ms")
    index.name = "ts"
    frames = {
        s: pd.DataFrame(
            [w.bars[s] for w in windows], index=index, columns=["open", "high", "low", "close", "volume"]
        )
        for s in symbols
    }
    return frames[symbols[0]] if len(symbols) == 1 else frames


def decide(
    strategy: type[Strategy],
    params: Mapping[str, Any],
    windows: Sequence[Window],
    *,
    spec: PaperSpec,
    account: str,
) -> list[OrderEvent]:
    """The orders ``strategy`` places at the close of the last window, with deterministic ids."""
    if len(windows) < 2:
        return []
    trace = _Trace()
    try:
        run = Backtest(frame(windows, spec.symbols), _traced(strategy, trace), **options(spec))
        result = run.run(**params)
    except DataError:
        return []
    rows = result.orders.to_dict()
    if len(spec.symbols) == 1:  # one frame: the engine names its symbol "asset"
        rows["symbol"] = [spec.symbols[0]] * len(rows["symbol"])
    ids = _Ids(rows, trace, windows, account)
    last = len(windows) - 1
    ts = windows[-1].start + interval_ms(spec.interval)
    placed = [
        ((rows["kind"][i] != "close", i), ids.order(i, ts)) for i in _placed(rows, last, trace.canceled)
    ]
    placed += [  # stop-losses and take-profits the strategy set on this bar (queued as the engine's)
        ((rows["kind"][i] == "tp", i), ids.bracket(i, ts))
        for i, order in enumerate(trace.log)
        if rows["kind"][i] in _CONTINGENT
        and order.status == OPEN
        and trace.brackets[order.id] == ("set", last)
    ]
    orders = [order for _, order in sorted(placed, key=lambda p: p[0])]
    for i in sorted(ids.index[k] for k, bar in trace.canceled.items() if bar == last):
        if rows["kind"][i] in _CONTINGENT:
            if trace.brackets[rows["id"][i]] != ("set", last):  # one set on this bar was never sent
                orders.append(dataclasses.replace(ids.bracket(i, ts), cancel=True))
        elif rows["placed_bar"][i] != last:  # placed and cancelled on this bar: never sent
            orders.append(dataclasses.replace(ids.order(i, ts), cancel=True))
    return orders


class _Ids:
    """The engine's orders as paper orders: the strategy's numbered on the bar they were placed on (closes
    first, as the engine queues them, then the others as placed), ``<account>:<bar start>:<n>``, and a
    close of a lot ``<entry>:close:<bar start>:<n>`` (``close_parent``); stop-losses and take-profits with
    their lot's entry id and a suffix (``bracket_parent``)."""

    def __init__(
        self, rows: dict[str, list[Any]], trace: _Trace, windows: Sequence[Window], account: str
    ) -> None:
        self.rows, self.trace, self.windows, self.account = rows, trace, windows, account
        self.index = {order_id: i for i, order_id in enumerate(rows["id"])}

    def order_id(self, i: int) -> str:
        """The id of the strategy's order in row ``i``."""
        bar = self.rows["placed_bar"][i]
        n = _placed(self.rows, bar, self.trace.canceled).index(i)
        if self.rows["kind"][i] == "close":  # the lot it closes, and the place the close took
            return f"{self.entry_id(self.trace.log[i])}{CLOSE}:{self.windows[bar].start}:{n}"
        return f"{self.account}:{self.windows[bar].start}:{n}"

    def entry_id(self, order: Order) -> str:
        """The id of the entry that opened the lot ``order`` (a close, stop-loss or take-profit) acts on."""
        trade = order.parent
        assert isinstance(trade, Trade)
        return self.order_id(self.index[self.trace.entries[trade.id]])

    def bracket_id(self, i: int) -> str:
        """The id of the stop-loss or take-profit in row ``i``."""
        order = self.trace.log[i]
        entry = self.entry_id(order)
        placer, bar = self.trace.brackets[order.id]
        if placer == "entry":
            return entry + (SL if order.kind == "sl" else TP)
        suffix = TRAIL if placer == "trail" else f":{order.kind}"
        return f"{entry}{suffix}:{self.windows[bar].start}"

    def order(self, i: int, ts: int) -> OrderEvent:
        """The strategy's order in row ``i``, decided at ``ts``."""
        rows, kind = self.rows, self.rows["kind"][i]
        if kind not in _KINDS:
            raise UnsupportedOrderError(f"paper trading does not support {kind} orders yet")
        return OrderEvent(
            account=self.account,
            order_id=self.order_id(i),
            symbol=str(rows["symbol"][i]),
            size=float(rows["size"][i]),
            kind=_KINDS[kind],
            limit=_price(rows["limit"][i]),
            stop=_price(rows["stop"][i]),
            stop_loss=_price(rows["sl"][i]),
            take_profit=_price(rows["tp"][i]),
            ts=ts,
            relative=bool(rows["relative"][i]),
            reduce_only=kind == "close",
            trail=self.trace.log[i].trail,
            trail_pct=self.trace.log[i].trail_pct,
        )

    def bracket(self, i: int, ts: int) -> OrderEvent:
        """The stop-loss (a stop) or take-profit (a limit) in row ``i``, decided at ``ts``."""
        rows, loss = self.rows, self.rows["kind"][i] == "sl"
        return OrderEvent(
            account=self.account,
            order_id=self.bracket_id(i),
            symbol=str(rows["symbol"][i]),
            size=float(rows["size"][i]),
            kind=OrderKind.STOP if loss else OrderKind.LIMIT,
            stop=_price(rows["stop"][i]) if loss else None,
            limit=None if loss else _price(rows["limit"][i]),
            ts=ts,
            reduce_only=True,
        )


def _placed(rows: dict[str, list[Any]], bar: int, canceled: Mapping[int, int]) -> list[int]:
    """The orders the strategy placed on ``bar`` and still had at its end, in the order of their ids:
    closes first (as the engine queues them), then the others as placed."""
    placed = [
        i
        for i, placed_bar in enumerate(rows["placed_bar"])
        if placed_bar == bar and rows["kind"][i] not in _CONTINGENT and canceled.get(rows["id"][i]) != bar
    ]
    return sorted(placed, key=lambda i: (rows["kind"][i] != "close", rows["id"][i]))


def _traced(strategy: type[Strategy], trace: _Trace) -> type[Strategy]:
    """``strategy`` with its engine broker noting in ``trace`` what the order log does not say: the bar
    on which the strategy cancels an order, the order that opened each trade, and who placed each
    stop-loss and take-profit (the trade's entry, the strategy, or a trailing stop) on which bar."""

    def init(self: Strategy) -> None:
        broker: Broker = self._broker
        trace.log = broker.log
        cancel, set_contingent = broker.cancel, broker.set_contingent
        open_trade, trail = broker._open_trade, broker._trail
        placer = ["set"]  # outside the broker's own calls, the strategy places them

        def noting(order: Order, reason: str) -> None:
            if order.status == OPEN and reason in _BY_STRATEGY:
                trace.canceled[order.id] = broker.i
            cancel(order, reason)

        def setting(trade: Trade, kind: str, price: float | None) -> None:
            set_contingent(trade, kind, price)
            order = trade.sl_order if kind == "sl" else trade.tp_order
            if order is not None:
                trace.brackets.setdefault(order.id, (placer[0], broker.i))

        def opening(order: Order, price: float, size: float, t_idx: int) -> Trade:
            placer[0] = "entry"
            try:
                trade = open_trade(order, price, size, t_idx)
            finally:
                placer[0] = "set"
            trace.entries[trade.id] = order.id
            return trade

        def trailing(i: int) -> None:
            placer[0] = "trail"
            try:
                trail(i)
            finally:
                placer[0] = "set"

        broker.cancel = noting  # type: ignore[method-assign]
        broker.set_contingent = setting  # type: ignore[method-assign]
        broker._open_trade = opening  # type: ignore[method-assign]
        broker._trail = trailing  # type: ignore[method-assign]
        strategy.init(self)

    names = {"__module__": strategy.__module__, "__qualname__": strategy.__qualname__}
    return type(strategy.__name__, (strategy,), {**names, "init": init})


def _price(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else float(value)
