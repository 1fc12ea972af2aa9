"""Paper trading: deploy a strategy version on the live bars; a simulated broker fills its orders."""

from quanta.paper.events import (
    FillEvent,
    OrderEvent,
    OrderKind,
    decode_fill,
    decode_order,
    encode_fill,
    encode_order,
)

__all__ = [
    "FillEvent",
    "OrderEvent",
    "OrderKind",
    "decode_fill",
    "decode_order",
    "encode_fill",
    "encode_order",
]
