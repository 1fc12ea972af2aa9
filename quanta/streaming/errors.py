"""Errors raised by the streaming layer."""

from __future__ import annotations

from quanta.streaming.events import DeadLetterReason


class StreamingError(Exception):
    """Base class for streaming errors."""


class MalformedEventError(StreamingError, ValueError):
    """A record that cannot be read as the event it claims to be; ``reason`` says which kind of fault.

    ``reason`` is ``malformed`` (not JSON, a missing or wrongly typed field, an impossible value) or
    ``unsupported-version`` (a schema version this reader does not know); ``detail`` says what exactly.
    """

    def __init__(self, reason: DeadLetterReason, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason.value}: {detail}")
