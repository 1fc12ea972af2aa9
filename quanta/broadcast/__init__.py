"""Broadcast: one message per update to every subscriber of a topic, resumable, across workers.

```python
from quanta.broadcast import Hub, RedisRelay

hub = Hub()                                            # Hub(relay=RedisRelay(url)) with several workers
hub.declare("contest.42.board", view=board_view)       # view: apply(delta) / snapshot() (optional)
async with hub.running():
    await hub.publish("contest.42.board", {"rows": [...]})   # encoded once, the same str to all
```

Subscribers (the websocket in :mod:`quanta.broadcast.asgi`, or any :class:`Sink`) get
``{"topic", "seq", "kind": "snapshot" | "delta" | "status" | "resync", ...}`` frames; sequence
numbers rise by one per message of a topic, so a client that reconnects with the last ``seq`` it
applied gets exactly the messages after it (from the ring of recent frames) or, when it is too far
behind, a snapshot. See docs/broadcast.md.
"""

from quanta.broadcast._hub import (
    DEFAULT_HISTORY,
    DEFAULT_OUTBOX,
    Hub,
    HubStats,
    Outbox,
    Relay,
    Sink,
    Status,
    View,
)
from quanta.broadcast._relay import RedisLease, RedisRelay
from quanta.broadcast.errors import BroadcastError, ProtocolError, UnknownTopicError
from quanta.broadcast.views import LastN, Snapshot

__all__ = [
    "DEFAULT_HISTORY",
    "DEFAULT_OUTBOX",
    "BroadcastError",
    "Hub",
    "HubStats",
    "LastN",
    "Outbox",
    "ProtocolError",
    "RedisLease",
    "RedisRelay",
    "Relay",
    "Sink",
    "Snapshot",
    "Status",
    "UnknownTopicError",
    "View",
]
