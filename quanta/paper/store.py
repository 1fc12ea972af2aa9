"""Where a paper account's truth is kept: its bars, orders and fills in the app database.

Each step of an account (one bar window) is written in one transaction — the window's bars, the fills
it made, the orders it rejected or triggered, the new orders the strategy decided — so a restart finds
the account exactly at the end of a step, never half-way. Records are marked ``published`` once the
transport has stored them; a restarted desk publishes the rest again (consumers deduplicate by
account and seq, and the topics see no duplicate unless a crash falls between the two).

An entry's stop-loss and take-profit are stored with it as the rows of its brackets (``<entry>:sl``, a
stop, and ``<entry>:tp``, a limit), ``waiting`` until the entry opens a lot, then ``open`` with the
step's time (their place in the broker's queue), and ``filled`` or ``canceled`` (one cancels the other).
They are the broker's orders, not the strategy's: they are not published on the orders topic (the
entry's record carries ``sl`` and ``tp``). A trailing entry's row keeps its ``trail``/``trail_pct``
(its lot's trail after a restart) and its stop-loss row the level the stop trailed to; a stop-loss the
broker placed again for a trailing lot (``<entry>:trail:<bar start>``) is stored as it is placed. A
stop-loss or take-profit the strategy set (``<entry>:sl:<bar start>``) is one of its orders.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlmodel import Session, col, select, update

from quanta import db
from quanta.paper.broker import SL, TP, Trail, bracket_parent
from quanta.paper.decide import Window
from quanta.paper.events import FillEvent, OrderEvent, OrderKind
from quanta.paper.models import PaperBar, PaperFill, PaperOrder
from quanta.settings import Settings

_FILL_FIELDS = {f.name for f in dataclasses.fields(FillEvent)}


@dataclass(kw_only=True)
class Restored:
    """An account as stored: its fills, working orders, every order id, the trailing stops of its entries,
    bars, and unpublished records."""

    fills: list[FillEvent] = field(default_factory=list)
    working: list[OrderEvent] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    trails: dict[str, Trail] = field(default_factory=dict)
    windows: list[Window] = field(default_factory=list)
    unpublished_orders: list[OrderEvent] = field(default_factory=list)
    unpublished_fills: list[FillEvent] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """What one window did to an account."""

    window: Window
    fills: Sequence[FillEvent]
    rejected: Sequence[tuple[str, str]]
    triggered: Sequence[str]
    orders: Sequence[OrderEvent]
    opened: Sequence[OrderEvent] = ()
    canceled: Sequence[str] = ()
    cancels: Sequence[str] = ()
    """Working orders the strategy cancelled."""
    trailed: Sequence[tuple[str, float]] = ()
    """Stop-losses a trailing stop moved (id, level)."""
    placed: Sequence[OrderEvent] = ()
    """Stop-losses the broker placed again for a trailing lot."""


class PaperStore:
    """Paper accounts in the app database of ``settings``."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings

    def load(self, account: str, symbols: Sequence[str]) -> Restored:
        """Everything stored about ``account``."""
        with db.session(self.settings) as session:
            fills = [fill_event(f) for f in session.exec(_fills(account))]
            orders = list(session.exec(select(PaperOrder).where(col(PaperOrder.account) == account)))
            bars = session.exec(
                select(PaperBar).where(col(PaperBar.account) == account).order_by(col(PaperBar.start))
            )
            restored = Restored(fills=fills, windows=_windows(bars, symbols))
            waiting = {r.order_id: r for r in orders if r.status == WAITING}
            for row in sorted(orders, key=_arrival):
                event = _with_brackets(order_event(row), waiting)
                restored.seen.add(row.order_id)
                trail = Trail.of(event)
                if trail is not None:
                    restored.trails[row.order_id] = trail
                if row.status == "open":
                    restored.working.append(event)
                if not row.published:
                    restored.unpublished_orders.append(event)
            restored.unpublished_fills = [
                fill_event(f)
                for f in session.exec(_fills(account).where(col(PaperFill.published).is_(False)))
            ]
            return restored

    def save(self, account: str, step: Step) -> None:
        """Write one step in one transaction."""
        with db.session(self.settings) as session:
            for symbol, (o, h, low, c, v) in step.window.bars.items():
                session.add(
                    PaperBar(
                        account=account,
                        start=step.window.start,
                        symbol=symbol,
                        open=o,
                        high=h,
                        low=low,
                        close=c,
                        volume=v,
                    )
                )
            for opened in step.opened:  # first: a bracket may fill in the bar it was placed
                session.exec(
                    update(PaperOrder)
                    .where(col(PaperOrder.account) == account, col(PaperOrder.order_id) == opened.order_id)
                    .values(status="open", size=opened.size, ts=opened.ts, stop=opened.stop)
                )
            for placed in step.placed:
                row = _order_row(placed)
                row.published = True
                session.add(row)
            for fill in step.fills:
                session.add(_fill_row(fill))
                _set_status(session, account, fill.order_id, "filled", "")
            for order_id, reason in step.rejected:
                _set_status(session, account, order_id, "rejected", reason)
            for order_id in step.triggered:
                session.exec(
                    update(PaperOrder)
                    .where(col(PaperOrder.account) == account, col(PaperOrder.order_id) == order_id)
                    .values(stop=None)
                )
            for order in step.orders:
                session.add(_order_row(order))
                for bracket in _brackets(order):
                    session.add(bracket)
            for order_id in step.cancels:
                _set_status(session, account, order_id, "canceled", "canceled by strategy")
            for order_id in step.canceled:
                _set_status(session, account, order_id, "canceled", "its lot closed (one cancels the other)")
            for order_id, level in step.trailed:
                session.exec(
                    update(PaperOrder)
                    .where(col(PaperOrder.account) == account, col(PaperOrder.order_id) == order_id)
                    .values(stop=level)
                )

    def mark_published(self, account: str, orders: Iterable[str], fills: Iterable[int]) -> None:
        """Remember that the transport stored these orders (ids) and fills (seqs)."""
        order_ids, seqs = list(orders), list(fills)
        with db.session(self.settings) as session:
            if order_ids:
                session.exec(
                    update(PaperOrder)
                    .where(col(PaperOrder.account) == account, col(PaperOrder.order_id).in_(order_ids))
                    .values(published=True)
                )
            if seqs:
                session.exec(
                    update(PaperFill)
                    .where(col(PaperFill.account) == account, col(PaperFill.seq).in_(seqs))
                    .values(published=True)
                )

    def fills(self, account: str) -> list[FillEvent]:
        """The account's fills in seq order."""
        with db.session(self.settings) as session:
            return [fill_event(f) for f in session.exec(_fills(account))]


WAITING = "waiting"


def _arrival(row: PaperOrder) -> tuple[int, bool, int]:
    """Queue arrival: by decision time; the brackets the broker placed in a step (as it filled, or
    trailed) before the orders decided on it, which come in the order decided."""
    entry = bracket_parent(row.order_id)
    by_broker = entry is not None and not row.order_id.startswith((f"{entry}:sl:", f"{entry}:tp:"))
    return row.ts, not by_broker, row.id or 0


def _brackets(order: OrderEvent) -> list[PaperOrder]:
    """The waiting bracket rows of an entry (take-profit first, as the engine places them); a trailing
    entry has a stop-loss row (its level is known once the entry fills)."""
    rows = []
    trailing = Trail.of(order) is not None
    for suffix, price in ((TP, order.take_profit), (SL, order.stop_loss)):
        if price is not None or (suffix == SL and trailing):
            loss = suffix == SL
            row = _order_row(order)
            row.order_id, row.size, row.relative = order.order_id + suffix, -order.size, False
            row.kind = (OrderKind.STOP if loss else OrderKind.LIMIT).value
            row.stop, row.limit = (price, None) if loss else (None, price)
            row.trail = row.trail_pct = None
            row.reduce_only, row.status, row.published = True, WAITING, True
            rows.append(row)
    return rows


def _with_brackets(event: OrderEvent, waiting: dict[str, PaperOrder]) -> OrderEvent:
    """An entry with the prices of its waiting brackets."""
    sl, tp = waiting.get(event.order_id + SL), waiting.get(event.order_id + TP)
    if sl is None and tp is None:
        return event
    return dataclasses.replace(
        event, stop_loss=None if sl is None else sl.stop, take_profit=None if tp is None else tp.limit
    )


def _fills(account: str):  # type: ignore[no-untyped-def]
    return select(PaperFill).where(col(PaperFill.account) == account).order_by(col(PaperFill.seq))


def _set_status(session: Session, account: str, order_id: str, status: str, reason: str) -> None:
    session.exec(
        update(PaperOrder)
        .where(col(PaperOrder.account) == account, col(PaperOrder.order_id) == order_id)
        .values(status=status, reason=reason[:200])
    )


def _windows(rows: Iterable[PaperBar], symbols: Sequence[str]) -> list[Window]:
    by_start: dict[int, dict[str, tuple[float, float, float, float, float]]] = {}
    for r in rows:
        by_start.setdefault(r.start, {})[r.symbol] = (r.open, r.high, r.low, r.close, r.volume)
    return [Window(start, bars) for start, bars in sorted(by_start.items()) if set(symbols) <= set(bars)]


def fill_event(row: PaperFill) -> FillEvent:
    """A stored fill as an event (the row has the event's fields, under the same names)."""
    return FillEvent(**row.model_dump(include=_FILL_FIELDS))


def order_event(row: PaperOrder) -> OrderEvent:
    """A stored order as an event (a triggered stop-limit has lost its stop)."""
    return OrderEvent(
        account=row.account,
        order_id=row.order_id,
        symbol=row.symbol,
        size=row.size,
        kind=OrderKind(row.kind),
        limit=row.limit,
        stop=row.stop,
        ts=row.ts,
        relative=row.relative,
        reduce_only=row.reduce_only,
        trail=row.trail,
        trail_pct=row.trail_pct,
    )


def _fill_row(fill: FillEvent) -> PaperFill:
    return PaperFill(**dataclasses.asdict(fill))


def _order_row(order: OrderEvent) -> PaperOrder:
    return PaperOrder(
        account=order.account,
        order_id=order.order_id,
        symbol=order.symbol,
        size=order.size,
        relative=order.relative,
        reduce_only=order.reduce_only,
        kind=order.kind.value,
        limit=order.limit,
        stop=order.stop,
        trail=order.trail,
        trail_pct=order.trail_pct,
        ts=order.ts,
    )
