"""Paper trading: deploy a strategy version on the live bars; a simulated broker fills its orders.

``PaperDesk(transport, topics, settings)`` runs accounts (``await desk.add(account, PaperSpec(...))``) on
a transport's bars and publishes their orders and fills; ``quanta.paper.service`` holds the use cases
(deploy, stop, restart, list, the account view). See docs/paper.md.
"""

from quanta.paper.broker import Account, PaperBroker
from quanta.paper.desk import AccountUpdate, PaperDesk
from quanta.paper.events import (
    FillEvent,
    OrderEvent,
    OrderKind,
    decode_fill,
    decode_order,
    encode_fill,
    encode_order,
)
from quanta.paper.models import PaperCosts, PaperSpec
from quanta.paper.runner import RunnerError

__all__ = [
    "Account",
    "AccountUpdate",
    "FillEvent",
    "OrderEvent",
    "OrderKind",
    "PaperBroker",
    "PaperCosts",
    "PaperDesk",
    "PaperSpec",
    "RunnerError",
    "decode_fill",
    "decode_order",
    "encode_fill",
    "encode_order",
]
