"""Chat events: immutable and serialisable; every post, edit and deletion returns one.

The app publishes ``event.to_json()`` to the broadcast hub on ``event.topic`` (``chat.<room id>``); the
same type could go to Kafka unchanged (``event.model_dump_json()``). ``seq`` is the message's number in
its room (what ``messages_after`` pages by), ``change`` the room's change number (what
``changes_after`` pages by): a client that holds change ``c`` and receives ``c + 1`` has missed nothing.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from quanta.chat.models import MessageView

__all__ = ["ChatEvent", "ChatEventKind"]


class ChatEventKind(StrEnum):
    POSTED = "message.posted"
    EDITED = "message.edited"
    DELETED = "message.deleted"


class ChatEvent(BaseModel):
    """Something that happened to a message; ``message`` is its state afterwards (a tombstone once
    deleted), as everyone who may read the room sees it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ChatEventKind
    room: str
    topic: str
    seq: int
    change: int
    occurred_at: datetime
    message: MessageView

    def to_json(self) -> dict[str, Any]:
        """The event as JSON-ready data (strings, numbers, lists, dicts)."""
        return self.model_dump(mode="json")
