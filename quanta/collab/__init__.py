"""Real-time collaborative editing of a strategy's source, on Yjs-compatible CRDT documents (pycrdt).

One room per strategy, served over a websocket that y-websocket (the browser editor) and
``CollabClient`` (Python) speak. The room server checks who connects and what they may do, stores every
applied update in the app database (compacting as it goes), rebuilds rooms from it after a restart, and
shares rooms between app workers through Redis when ``QUANTA_REDIS_URL`` is set::

    hub = collab_hub(settings)              # roles and seed text from the strategy workspace
    install_collab(fastapi_app, hub)        # ws://…/collab/{public_id}
    room_text("abc123")                     # the text everyone sees now
    await replace_room_text("abc123", text)  # restore a version: everyone sees it

Tables and protocols are in ``quanta.collab.models``, use cases in ``quanta.collab.service``, the route in
``quanta.collab.asgi``, the Python peer in ``quanta.collab.client``. See docs/collab.md.
"""

from quanta.collab._hub import POLICY_VIOLATION, CollabHub, Who
from quanta.collab._relay import RedisRelay, Relay
from quanta.collab._room import Transport
from quanta.collab._store import UpdateStore, seed_update, text_of
from quanta.collab.access import LatestVersionSeed, WorkspaceAuthorizer, no_seed, session_user
from quanta.collab.models import SOURCE, WRITERS, Authorizer, CollabUpdate, RoomOptions, Seed, can_write
from quanta.collab.service import collab_hub, replace_room_text, room_text, set_current_hub

__all__ = [
    "POLICY_VIOLATION",
    "SOURCE",
    "WRITERS",
    "Authorizer",
    "CollabHub",
    "CollabUpdate",
    "LatestVersionSeed",
    "RedisRelay",
    "Relay",
    "RoomOptions",
    "Seed",
    "Transport",
    "UpdateStore",
    "Who",
    "WorkspaceAuthorizer",
    "can_write",
    "collab_hub",
    "no_seed",
    "replace_room_text",
    "room_text",
    "seed_update",
    "session_user",
    "set_current_hub",
    "text_of",
]
