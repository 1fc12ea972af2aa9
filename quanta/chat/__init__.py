"""Live chat: a lobby, a room per competition, per strategy (for its collaborators) and per pair of
people; markdown messages rendered to sanitised HTML, numbered per room for gapless catch-up; mentions
with notifications; edits, tombstoned deletions, mutes, bans and reports; rate-limited posting; and an
in-memory board of who is present and typing. For example::

    with db.session() as unit:
        room = lobby(session=unit)
        event = post_message(session=unit, actor=me, room=room, body="Hello @olga!")
    hub.publish(event.topic, event.to_json())          # the app layer's broadcast path
    with db.session() as unit:
        missed = messages_after(session=unit, room=room, user=me, seq=last_seen_seq)

Use cases live in ``quanta.chat.service``, who may do what in ``quanta.chat.access``, tables and views
in ``quanta.chat.models``, events in ``quanta.chat.events``, errors in ``quanta.chat.errors``, the
presence board in ``quanta.chat.presence``, a room's broadcast topics in ``quanta.chat.live``.
See docs/chat.md.
"""

from quanta.chat import (
    _cascade,  # noqa: F401  (chat rows follow deleted people and strategies, on SQLite too)
    access,
    errors,
    events,
    models,
    presence,
    service,
)
from quanta.chat.access import RoomAccess, access_for
from quanta.chat.errors import ChatError, Forbidden, MessageNotFound, Muted, PostingTooFast, RoomNotFound
from quanta.chat.events import ChatEvent, ChatEventKind
from quanta.chat.models import MessageView, RestrictionKind, RoomKind, RoomView
from quanta.chat.presence import PresenceBoard, RoomPresence

__all__ = [
    "ChatError",
    "ChatEvent",
    "ChatEventKind",
    "Forbidden",
    "MessageNotFound",
    "MessageView",
    "Muted",
    "PostingTooFast",
    "PresenceBoard",
    "RestrictionKind",
    "RoomAccess",
    "RoomKind",
    "RoomNotFound",
    "RoomPresence",
    "RoomView",
    "access",
    "access_for",
    "errors",
    "events",
    "models",
    "presence",
    "service",
]
