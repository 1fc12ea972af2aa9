"""Use cases of collaborative editing: the app's room server, and a room's current text."""

from __future__ import annotations

import asyncio

from quanta import db
from quanta.collab._hub import CollabHub
from quanta.collab._relay import RedisRelay, Relay
from quanta.collab._store import UpdateStore
from quanta.collab.access import LatestVersionSeed, WorkspaceAuthorizer
from quanta.collab.models import Authorizer, RoomOptions, Seed
from quanta.settings import Settings, get_settings

_current: CollabHub | None = None


def collab_hub(
    settings: Settings | None = None,
    *,
    authorizer: Authorizer | None = None,
    seed: Seed | None = None,
    relay: Relay | None = None,
    options: RoomOptions | None = None,
) -> CollabHub:
    """A room server on the app database; the workspace decides roles and seeds rooms with a strategy's
    latest saved version unless ``authorizer``/``seed`` say otherwise. With ``QUANTA_REDIS_URL`` set,
    rooms are shared with the other workers through Redis (``relay`` overrides)."""
    settings = settings or get_settings()
    if relay is None and settings.redis_url:
        relay = RedisRelay(settings.redis_url)
    return CollabHub(
        store=UpdateStore(db.engine(settings)),
        authorizer=authorizer or WorkspaceAuthorizer(settings),
        seed=seed or LatestVersionSeed(settings),
        relay=relay,
        options=options,
    )


def set_current_hub(hub: CollabHub | None) -> None:
    """Make ``hub`` the one ``room_text`` reads (``install_collab`` does this)."""
    global _current  # noqa: PLW0603 - one room server per process, like the database engines
    _current = hub


async def replace_room_text(public_id: str, text: str, *, settings: Settings | None = None) -> bool:
    """Make the text of the strategy ``public_id``'s room ``text`` — what restoring a version does — so
    everyone editing sees it; whether anything changed. Only the lines that differ are replaced.

    Through this worker's room server when there is one (its other workers follow through the relay),
    else straight in the store. Awaitable from any event loop.
    """
    hub = _current
    if hub is None:
        store = UpdateStore(db.engine(settings))
        return await asyncio.to_thread(store.replace, public_id, text)
    loop = hub.loop
    if loop is None or loop is asyncio.get_running_loop():
        return await hub.replace_text(public_id, text)
    future = asyncio.run_coroutine_threadsafe(hub.replace_text(public_id, text), loop)
    return await asyncio.wrap_future(future)


def room_text(public_id: str, *, settings: Settings | None = None) -> str:
    """The current source text of the strategy ``public_id``'s room.

    Live from this worker's room when it is open here; otherwise as stored (another worker's room
    stores what its clients type within milliseconds); a room never edited gives the seed text (the
    latest saved version). Blocking when it reads the database; callable from any thread.
    """
    if _current is not None:
        return _current.room_text(public_id)
    return UpdateStore(db.engine(settings)).text(public_id)
