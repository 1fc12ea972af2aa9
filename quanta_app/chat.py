"""The chat's live push in the app: its topics on this worker's hub and who may follow them.

``install_chat(api)`` (in ``quanta_app.api``) puts this worker's ``ChatLive`` where the chat routes
find it (``api.state.quanta_chat_live``), so every post, edit and deletion the REST API commits is
published on ``chat.<room id>``, and presence and typing on ``chat.<room id>.presence``. The topic
rule registered here (``chat.``) reads the session cookie of the websocket's handshake and lets
through only the people who may read the room (quanta.chat.access: anyone signed in for the lobby
and competition rooms, members for strategy and direct rooms, never the banned), declaring the
room's topics on first use.
"""

from __future__ import annotations

from functools import lru_cache

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from quanta import db
from quanta.accounts.service import resolve_session, session_token_in
from quanta.broadcast.asgi import Peer
from quanta.chat.access import room_by_public_id
from quanta.chat.errors import RoomNotFound
from quanta.chat.live import ChatLive, RedisPresence, room_of_topic
from quanta.settings import get_settings
from quanta_app.live import live_hub, register_topic_rule


@lru_cache(maxsize=1)
def chat_live() -> ChatLive:
    """This worker's chat topics and presence board, on its hub (the board in Redis, shared by every
    worker, when ``QUANTA_REDIS_URL`` is set)."""
    redis_url = get_settings().redis_url
    return ChatLive(live_hub(), board=RedisPresence(redis_url) if redis_url else None)


def may_read(room: str, cookies: dict[str, str]) -> bool:
    """Whether the session behind ``cookies`` may read ``room`` now."""
    token = session_token_in(cookies)
    if not token:
        return False
    with db.session(get_settings()) as unit:
        current = resolve_session(session=unit, token=token)
        if current is None:
            return False
        try:
            room_by_public_id(session=unit, public_id=room, user=current.user)
        except RoomNotFound:
            return False
        return True


async def chat_rule(topic: str, peer: Peer) -> bool:
    """The ``chat.`` topic rule: readers of the room only; declares its topics before saying yes."""
    room = room_of_topic(topic)
    if room is None or not await run_in_threadpool(may_read, room, dict(peer.cookies)):
        return False
    chat_live().declare(room)
    return True


def install_chat(api: FastAPI) -> None:
    """Publish what the chat routes commit, and let room members follow their rooms."""
    api.state.quanta_chat_live = chat_live()


register_topic_rule("chat.", chat_rule)
