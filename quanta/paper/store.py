"""Where a paper account's truth is kept: its bars, orders and fills in the app database.

Each step of an account (one bar window) is written in one transaction — the window's bars, the fills
it made, the orders it rejected or triggered, the new orders the strategy decided — so a restart finds
the account exactly at the end of a step, never half-way. Records are marked ``published`` once the
transport has stored them; a restarted desk publishes the rest again (consumers deduplicate by
account and seq, and the topics see no duplicate unless a crash falls between the two).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlmodel import Session, col, select, update

from quanta import db
from quanta.paper.decide import Window
from quanta.paper.events import FillEvent, OrderEvent, OrderKind
from quanta.paper.models import PaperBar, PaperFill, PaperOrder
from quanta.settings import Settings


@dataclass(kw_only=True)
class Restored:
    """An account as stored: its fills, working orders, every order id, bars, and unpublished records."""

    fills: list[FillEvent] = field(default_factory=list)
    working: list[OrderEvent] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
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
            for row in sorted(orders, key=lambda o: o.id or 0):
                event = order_event(row)
                restored.seen.add(row.order_id)
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
    """A stored fill as an event."""
    return FillEvent(
        account=row.account,
        fill_id=row.fill_id,
        order_id=row.order_id,
        seq=row.seq,
        symbol=row.symbol,
        size=row.size,
        price=row.price,
        commission=row.commission,
        ts=row.ts,
    )


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
    )


def _fill_row(fill: FillEvent) -> PaperFill:
    return PaperFill(
        account=fill.account,
        seq=fill.seq,
        fill_id=fill.fill_id,
        order_id=fill.order_id,
        symbol=fill.symbol,
        size=fill.size,
        price=fill.price,
        commission=fill.commission,
        ts=fill.ts,
    )


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
        ts=order.ts,
    )
