"""Paper-trading events: orders a strategy's runner decides, fills the simulated broker makes.

These are the records of the ``quanta.orders`` and ``quanta.fills`` topics, keyed by the deployment
(``account``), so one account's records stay in order. Both are compact JSON with a schema version,
like the market data of :mod:`quanta.streaming.schema`::

    order {"v":1,"a":"pp_3f…","o":"pp_3f…:1700000000000:0","s":"GOOG","q":10.0,"k":"market",
           "lp":null,"sp":null,"sl":null,"tp":null,"t":1700000001000}
          account, order id, symbol, signed size (negative sells), kind, limit, stop,
          stop-loss, take-profit, decision time (the end of the bar it was decided on, ms UTC);
          ``"r":true`` (added later, still version 1) when the size is a fraction of the margin,
          ``"ro":true`` for a reduce-only close (also added later); ``"x":true`` (added later) when the
          strategy cancelled that order: the record of a working order repeated with the time of
          the cancel (a reader that ignores ``x`` sees an id it already has and drops it)
    fill  {"v":1,"a":"pp_3f…","f":"pp_3f…:1700000000000:0","o":"pp_3f…:1700000000000:0","n":7,
           "s":"GOOG","q":10.0,"p":101.25,"c":2.03,"t":1700000001000}
          account, fill id, order id, the account's fill number (1, 2, … without gaps), symbol,
          signed size, price, commission (cash), fill time (ms UTC)

Ids are deterministic (``<account>:<bar start>:<n>`` for the n-th order decided on a bar; a close of one
lot, ``trade.close(portion)``, is ``<entry>:close:<bar start>:<n>``, see :func:`close_parent`; a
stop-loss or take-profit the strategy sets on a lot later is ``<entry>:sl:<bar start>`` /
``<entry>:tp:<bar start>``, see :func:`bracket_parent`), so a runner that restarts and decides again
produces the same ids, and the broker, which fills each order id at most once, never fills twice.
The cash of an account follows from its fills alone: ``cash = capital − Σ (size × price + commission)``
and ``equity = cash + Σ position × last close``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from quanta.streaming.errors import MalformedEventError
from quanta.streaming.events import SYMBOL, DeadLetterReason

SCHEMA_VERSION = 1
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True, allow_nan=False)
_MAX_ID = 200
SL, TP, TRAIL, CLOSE = ":sl", ":tp", ":trail", ":close"
_BRACKET = re.compile(r"(?P<entry>.+):(?P<kind>sl|tp|trail)(?::\d+)?")
_CLOSE = re.compile(r"(?P<entry>.+:\d+:\d+):close:\d+:\d+")


def bracket_parent(order_id: str) -> str | None:
    """The entry whose lot a stop-loss or take-profit order closes, read from its id.

    ``<entry>:sl`` and ``<entry>:tp`` are placed when the entry opens its lot; ``<entry>:sl:<bar start>``
    and ``<entry>:tp:<bar start>`` are the strategy's (``trade.sl = …`` on that bar); and
    ``<entry>:trail:<bar start>`` a trailing stop-loss the broker placed again on that bar after the
    strategy cancelled it. An entry's own id (``<account>:<bar start>:<n>``) never reads as one.
    """
    match = _BRACKET.fullmatch(order_id)
    return None if match is None else match["entry"]


def close_parent(order_id: str) -> str | None:
    """The entry whose lot a close order reduces, read from its id ``<entry>:close:<bar start>:<n>``.

    The engine's ``trade.close(portion)`` (``position.close()`` is one per lot) closes that trade, not the
    oldest; its order takes the n-th place among the orders decided on that bar, as any other order
    does. An entry's own id (``<account>:<bar start>:<n>``) never reads as one.
    """
    match = _CLOSE.fullmatch(order_id)
    return None if match is None else match["entry"]


def lot_of(order_id: str) -> str | None:
    """The entry whose lot the order ``order_id`` acts on alone: a stop-loss, take-profit or close of it."""
    return bracket_parent(order_id) or close_parent(order_id)


def is_take_profit(order_id: str) -> bool:
    """Whether ``order_id`` names a take-profit (the other brackets are stop-losses)."""
    match = _BRACKET.fullmatch(order_id)
    return match is not None and match["kind"] == "tp"


class OrderKind(StrEnum):
    """How an order is priced."""

    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop-limit"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderEvent:
    """An order a deployment's strategy placed at the end of the bar that closed at ``ts``."""

    account: str
    order_id: str
    symbol: str
    size: float
    kind: OrderKind = OrderKind.MARKET
    limit: float | None = None
    stop: float | None = None
    stop_loss: float | None = None
    take_profit: float | None = None
    ts: int
    relative: bool = False
    """``size`` is a signed fraction of the available margin (the engine's ``buy(size=0.5)``), sized by
    the broker at the fill price; otherwise it is a number of units."""
    reduce_only: bool = False
    """A close (the engine's ``trade.close()``, ``position.close()``): it goes ahead of the working
    orders and fills at most the lot its id names (:func:`close_parent`; an older record without one:
    the opposite position), and is dropped when that is closed already."""
    cancel: bool = False
    """The strategy cancelled the working order ``order_id`` (``order.cancel()``, or ``replace``, which
    also places the new order); ``ts`` is when."""
    trail: float | None = None
    """A trailing stop-loss on the lot this entry opens: ``trail`` below the highest high since entry
    (above the lowest low for a short), moved after each bar's close, only tightening."""
    trail_pct: float | None = None
    """The same as a fraction of the price (``0.05``: 5 % behind)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FillEvent:
    """The broker filled ``size`` units of an order at ``price``, paying ``commission``."""

    account: str
    fill_id: str
    order_id: str
    seq: int
    symbol: str
    size: float
    price: float
    commission: float
    ts: int

    @property
    def cash_flow(self) -> float:
        """What the fill does to the account's cash: minus the value bought, minus the commission."""
        return -(self.size * self.price) - self.commission


def encode_order(order: OrderEvent) -> bytes:
    """The order as one JSON object."""
    record = {
        "v": SCHEMA_VERSION,
        "a": order.account,
        "o": order.order_id,
        "s": order.symbol,
        "q": order.size,
        "k": order.kind.value,
        "lp": order.limit,
        "sp": order.stop,
        "sl": order.stop_loss,
        "tp": order.take_profit,
        "t": order.ts,
    }
    if order.relative:
        record["r"] = True
    if order.reduce_only:
        record["ro"] = True
    if order.cancel:
        record["x"] = True
    if order.trail is not None:
        record["tr"] = order.trail
    if order.trail_pct is not None:
        record["trp"] = order.trail_pct
    return _encode(record, order)


def decode_order(data: bytes) -> OrderEvent:
    """Read an order written by :func:`encode_order`; raise ``MalformedEventError`` on a bad record."""
    record = _record(data, "order")
    kind = record.get("k")
    try:
        order_kind = OrderKind(str(kind))
    except ValueError:
        raise _malformed("order", "k", "market, limit, stop or stop-limit", kind) from None
    return OrderEvent(
        account=_text(record, "a"),
        order_id=_text(record, "o"),
        symbol=_symbol(record),
        size=_number(record, "q", nonzero=True),
        kind=order_kind,
        limit=_price_or_none(record, "lp"),
        stop=_price_or_none(record, "sp"),
        stop_loss=_price_or_none(record, "sl"),
        take_profit=_price_or_none(record, "tp"),
        ts=_integer(record, "t"),
        relative=_flag(record, "r"),
        reduce_only=_flag(record, "ro"),
        cancel=_flag(record, "x"),
        trail=_price_or_none(record, "tr"),
        trail_pct=_fraction_or_none(record, "trp"),
    )


def encode_fill(fill: FillEvent) -> bytes:
    """The fill as one JSON object."""
    record = {
        "v": SCHEMA_VERSION,
        "a": fill.account,
        "f": fill.fill_id,
        "o": fill.order_id,
        "n": fill.seq,
        "s": fill.symbol,
        "q": fill.size,
        "p": fill.price,
        "c": fill.commission,
        "t": fill.ts,
    }
    return _encode(record, fill)


def decode_fill(data: bytes) -> FillEvent:
    """Read a fill written by :func:`encode_fill`; raise ``MalformedEventError`` on a bad record."""
    record = _record(data, "fill")
    return FillEvent(
        account=_text(record, "a"),
        fill_id=_text(record, "f"),
        order_id=_text(record, "o"),
        seq=_integer(record, "n"),
        symbol=_symbol(record),
        size=_number(record, "q", nonzero=True),
        price=_number(record, "p", positive=True),
        commission=_number(record, "c"),
        ts=_integer(record, "t"),
    )


def _encode(record: dict[str, Any], event: object) -> bytes:
    try:
        return _ENCODER.encode(record).encode()
    except ValueError as exc:  # NaN or infinity
        raise MalformedEventError(DeadLetterReason.MALFORMED, f"refusing to encode {event!r}: {exc}") from exc


def _record(data: bytes, kind: str) -> dict[str, Any]:
    try:
        record = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedEventError(DeadLetterReason.MALFORMED, f"{kind} is not JSON: {exc}") from exc
    if not isinstance(record, dict):
        raise MalformedEventError(DeadLetterReason.MALFORMED, f"{kind} is not a JSON object")
    version = record.get("v")
    if version != SCHEMA_VERSION:
        raise MalformedEventError(
            DeadLetterReason.UNSUPPORTED_VERSION, f"{kind} schema version {version!r}; this reader knows 1"
        )
    return record


def _malformed(kind: str, key: str, expected: str, got: object) -> MalformedEventError:
    detail = f"{kind} field {key!r}: expected {expected}, got {got!r}"
    return MalformedEventError(DeadLetterReason.MALFORMED, detail)


def _text(record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not 0 < len(value) <= _MAX_ID:
        raise _malformed("event", key, f"a string of 1 to {_MAX_ID} characters", value)
    return value


def _symbol(record: dict[str, Any]) -> str:
    value = record.get("s")
    if not isinstance(value, str) or SYMBOL.fullmatch(value) is None:
        raise _malformed("event", "s", "a symbol", value)
    return value


def _integer(record: dict[str, Any], key: str) -> int:
    value = record.get(key)
    if type(value) is not int or not 0 <= value < 2**53:
        raise _malformed("event", key, "a non-negative integer", value)
    return value


def _number(record: dict[str, Any], key: str, *, positive: bool = False, nonzero: bool = False) -> float:
    value = record.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise _malformed("event", key, "a finite number", value)
    if (positive and value <= 0) or (nonzero and value == 0):
        raise _malformed("event", key, "a positive number" if positive else "a non-zero number", value)
    return float(value)


def _flag(record: dict[str, Any], key: str) -> bool:
    value = record.get(key, False)
    if not isinstance(value, bool):
        raise _malformed("event", key, "true or false", value)
    return value


def _price_or_none(record: dict[str, Any], key: str) -> float | None:
    return None if record.get(key) is None else _number(record, key, positive=True)


def _fraction_or_none(record: dict[str, Any], key: str) -> float | None:
    value = _price_or_none(record, key)
    if value is not None and value >= 1:
        raise _malformed("event", key, "a fraction in (0, 1)", value)
    return value
