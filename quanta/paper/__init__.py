"""Paper trading: deploy a strategy version on the live bars; a simulated broker fills its orders.

``PaperDesk(transport, topics, settings)`` runs accounts (``await desk.add(account, PaperSpec(...))``) on
a transport's bars and publishes their orders and fills; ``quanta.paper.service`` holds the use cases
(deploy, stop, restart, list, the account view). See docs/paper.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from quanta.paper.events import (
    FillEvent,
    OrderEvent,
    OrderKind,
    decode_fill,
    decode_order,
    encode_fill,
    encode_order,
)

if TYPE_CHECKING:
    from quanta.paper.broker import Account, PaperBroker
    from quanta.paper.desk import AccountUpdate, PaperDesk
    from quanta.paper.models import PaperCosts, PaperSpec
    from quanta.paper.runner import RunnerError

# The broker, the desk and the tables load on first use, so that the fill and order records import
# without the database and engine stack (the Flink scores job reads fills in ``.venv-flink``).
_EXPORTS = {
    "Account": "quanta.paper.broker",
    "PaperBroker": "quanta.paper.broker",
    "AccountUpdate": "quanta.paper.desk",
    "PaperDesk": "quanta.paper.desk",
    "PaperCosts": "quanta.paper.models",
    "PaperSpec": "quanta.paper.models",
    "RunnerError": "quanta.paper.runner",
}

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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'quanta.paper' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
