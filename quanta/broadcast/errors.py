"""Errors of the broadcast hub and its protocol."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quanta.broadcast.protocol import ErrorCode


class BroadcastError(Exception):
    """Base class of the broadcast errors."""


class UnknownTopicError(BroadcastError, LookupError):
    """Nobody declared this topic on the hub."""

    def __init__(self, topic: str) -> None:
        super().__init__(f"unknown topic {topic!r}")
        self.topic = topic


class ProtocolError(BroadcastError, ValueError):
    """A client frame the server cannot accept; ``code`` goes back to the client."""

    def __init__(self, code: ErrorCode, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
