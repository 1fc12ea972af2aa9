"""Errors raised by the chat services; each message is fit to show to the person who caused it.

They specialise the accounts errors, so every caller that already answers those (the REST API's problem
handlers, the Reflex pages) answers these the same way: not found is 404, not allowed 403, bad input 422,
a clash with the current state 409, too many posts 429 with ``retry_after``.
"""

# The names read as outcomes (RoomNotFound, Muted), as the services' callers match on them.
# ruff: noqa: N818

from __future__ import annotations

from datetime import datetime

from quanta.accounts.errors import (
    AccountsError,
    Conflict,
    InvalidInput,
    NotAllowed,
    NotFound,
    Throttled,
)

__all__ = [
    "ChatError",
    "Conflict",
    "Forbidden",
    "InvalidInput",
    "MessageNotFound",
    "Muted",
    "NotAllowed",
    "NotFound",
    "PostingTooFast",
    "RoomNotFound",
]


class ChatError(AccountsError):
    """Base class of the errors only the chat raises."""


class RoomNotFound(ChatError, NotFound):
    """No such room, or one the caller may not read (banned, not a member): the two look the same."""

    def __init__(self, message: str = "No such chat room.") -> None:
        super().__init__(message)


class MessageNotFound(ChatError, NotFound):
    """The room has no message with this number."""

    def __init__(self, message: str = "No such message.") -> None:
        super().__init__(message)


class Forbidden(ChatError, NotAllowed):
    """The caller may read the room but not do this in it."""


class Muted(Forbidden):
    """A moderator muted the caller in this room; ``until`` is when it ends (None: until lifted)."""

    def __init__(self, until: datetime | None) -> None:
        self.until = until
        when = f"until {until:%Y-%m-%d %H:%M} UTC" if until is not None else "until a moderator lifts it"
        super().__init__(f"You are muted in this room {when}.")


class PostingTooFast(ChatError, Throttled):
    """Too many messages in a short time; try again in ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        unit = "second" if retry_after == 1 else "seconds"
        # Throttled's own wording counts minutes; a chat pause is seconds long.
        AccountsError.__init__(self, f"You are posting too fast. Try again in {retry_after} {unit}.")
