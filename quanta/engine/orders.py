"""Orders and trades, as a strategy sees them inside ``next()``.

Both are thin records owned by the broker; their methods (``cancel``, ``replace``, ``close`` and the
``sl``/``tp`` setters) ask the broker to act so that the order book stays consistent.
"""

from __future__ import annotations

from math import copysign
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from quanta.engine.broker import Broker

OPEN, FILLED, CANCELED, REJECTED = "open", "filled", "canceled", "rejected"


class Order:
    """A request to trade. ``size`` is signed: positive buys, negative sells.

    When ``relative``, ``|size|`` is a fraction of available margin, otherwise a number of units.
    Every order is good-till-canceled. ``status`` is one of open, filled, canceled, rejected.
    """

    __slots__ = (
        "_broker",
        "_in_book",
        "fill_bar",
        "fill_price",
        "fill_size",
        "id",
        "kind",
        "limit",
        "parent",
        "placed_bar",
        "placed_size",
        "placed_stop",
        "reason",
        "relative",
        "size",
        "sl",
        "status",
        "stop",
        "sym",
        "tag",
        "tp",
        "trail",
        "trail_pct",
        "trigger",
        "weight",
    )

    def __init__(
        self,
        broker: Broker,
        *,
        sym: int,
        size: float,
        kind: str,
        relative: bool = False,
        limit: float | None = None,
        stop: float | None = None,
        sl: float | None = None,
        tp: float | None = None,
        trail: float | None = None,
        trail_pct: float | None = None,
        parent: Trade | None = None,
        tag: object = None,
        weight: float | None = None,
    ) -> None:
        self._broker = broker
        self._in_book = False
        self.id = len(broker.log)
        self.sym = sym
        self.size = size
        self.placed_size = size
        self.kind = kind
        self.relative = relative
        self.limit = limit
        self.stop = stop
        self.trigger = stop  # the stop level (kept after it fires; moved by trailing stops)
        self.placed_stop = stop
        self.sl = sl
        self.tp = tp
        self.trail = trail
        self.trail_pct = trail_pct
        self.parent = parent
        self.tag = tag
        self.weight = weight
        self.placed_bar = broker.i
        self.status = OPEN
        self.fill_bar: int | None = None
        self.fill_price: float | None = None
        self.fill_size: float | None = None
        self.reason = ""

    def __repr__(self) -> str:
        parts = [f"{k}={getattr(self, k)!r}" for k in ("size", "limit", "stop", "sl", "tp", "tag")]
        shown = ", ".join(p for p in parts if not p.endswith("=None"))
        return f"<Order #{self.id} {self.kind} {self.symbol} {shown} {self.status}>"

    @property
    def symbol(self) -> str:
        """The traded symbol."""
        return self._broker.symbols[self.sym]

    @property
    def is_long(self) -> bool:
        """True for buy orders."""
        return self.size > 0

    @property
    def is_short(self) -> bool:
        """True for sell orders."""
        return self.size < 0

    @property
    def is_contingent(self) -> bool:
        """True for the stop-loss / take-profit orders attached to an open trade (OCO)."""
        trade = self.parent
        return trade is not None and (self is trade.sl_order or self is trade.tp_order)

    def cancel(self) -> None:
        """Cancel the order if it is still open."""
        self._broker.cancel(self, "canceled by strategy")

    def replace(self, **changes: Any) -> Order:
        """Cancel this order and place a copy with ``changes`` (size, limit, stop, sl, tp, tag, …)."""
        return self._broker.replace(self, changes)


class Trade:
    """An open or closed position lot. ``size`` is signed units; prices include the spread."""

    __slots__ = (
        "_broker",
        "commission",
        "entry_bar",
        "entry_commission",
        "entry_price",
        "exit_bar",
        "exit_price",
        "id",
        "size",
        "sl_order",
        "sym",
        "tag",
        "tp_order",
        "trail",
        "trail_pct",
    )

    def __init__(
        self,
        broker: Broker,
        *,
        sym: int,
        size: float,
        entry_price: float,
        entry_bar: int,
        tag: object,
        entry_commission: float,
    ) -> None:
        self._broker = broker
        self.id = broker.next_trade_id()
        self.sym = sym
        self.size = size
        self.entry_price = entry_price
        self.entry_bar = entry_bar
        self.exit_price: float | None = None
        self.exit_bar: int | None = None
        self.sl_order: Order | None = None
        self.tp_order: Order | None = None
        self.tag = tag
        self.entry_commission = entry_commission
        self.commission = 0.0
        self.trail: float | None = None
        self.trail_pct: float | None = None

    def __repr__(self) -> str:
        return (
            f"<Trade {self.symbol} size={self.size} bars={self.entry_bar}-{self.exit_bar} "
            f"price={self.entry_price}-{self.exit_price} pl={self.pl:.2f}>"
        )

    @property
    def symbol(self) -> str:
        """The traded symbol."""
        return self._broker.symbols[self.sym]

    @property
    def is_long(self) -> bool:
        """True for a long trade."""
        return self.size > 0

    @property
    def is_short(self) -> bool:
        """True for a short trade."""
        return self.size < 0

    @property
    def is_open(self) -> bool:
        """True until the trade is closed."""
        return self.exit_bar is None

    def _price(self) -> float:
        return self._broker.last_price(self.sym) if self.exit_price is None else self.exit_price

    @property
    def pl(self) -> float:
        """Profit or loss in cash; commissions count only once the trade is closed."""
        return self.size * (self._price() - self.entry_price) - self.commission

    @property
    def pl_pct(self) -> float:
        """Return relative to the entry price, net of the trade's commissions (0.05 = 5%)."""
        gross = copysign(1, self.size) * (self._price() / self.entry_price - 1)
        return gross - self.commission / (abs(self.size) * self.entry_price)

    @property
    def value(self) -> float:
        """Current (or exit) value of the trade in cash."""
        return abs(self.size) * self._price()

    @property
    def sl(self) -> float | None:
        """Stop-loss price; assign a price to set or move it, None to cancel it."""
        order = self.sl_order
        return None if order is None else order.trigger

    @sl.setter
    def sl(self, price: float | None) -> None:
        self._broker.set_contingent(self, "sl", price)

    @property
    def tp(self) -> float | None:
        """Take-profit price; assign a price to set or move it, None to cancel it."""
        order = self.tp_order
        return None if order is None else order.limit

    @tp.setter
    def tp(self, price: float | None) -> None:
        self._broker.set_contingent(self, "tp", price)

    def close(self, portion: float = 1.0) -> None:
        """Close ``portion`` of the trade with a market order (filled like any market order)."""
        self._broker.close_trade(self, portion)


class Position:
    """The net position in one symbol; true in a boolean context when not flat."""

    __slots__ = ("_broker", "sym")

    def __init__(self, broker: Broker, sym: int) -> None:
        self._broker = broker
        self.sym = sym

    def __bool__(self) -> bool:
        return self._broker.pos[self.sym] != 0

    def __repr__(self) -> str:
        return f"<Position {self._broker.symbols[self.sym]} size={self.size} pl={self.pl:.2f}>"

    @property
    def size(self) -> float:
        """Net units held; negative when short."""
        return self._broker.pos[self.sym]

    @property
    def is_long(self) -> bool:
        """True when the net position is long."""
        return self._broker.pos[self.sym] > 0

    @property
    def is_short(self) -> bool:
        """True when the net position is short."""
        return self._broker.pos[self.sym] < 0

    @property
    def pl(self) -> float:
        """Unrealised profit or loss at the current close (before exit commissions)."""
        b = self._broker
        return b.last_price(self.sym) * b.pos[self.sym] - b.cost[self.sym]

    @property
    def pl_pct(self) -> float:
        """Unrealised return relative to the entry value of the open trades (0.05 = 5%)."""
        invested = sum(abs(t.size) * t.entry_price for t in self.trades)
        return self.pl / invested if invested else 0.0

    @property
    def trades(self) -> tuple[Trade, ...]:
        """Open trades in this symbol, oldest first."""
        return tuple(t for t in self._broker.trades if t.sym == self.sym)

    def close(self, portion: float = 1.0) -> None:
        """Close ``portion`` of every open trade in this symbol at the next fill."""
        for trade in self.trades:
            trade.close(portion)
