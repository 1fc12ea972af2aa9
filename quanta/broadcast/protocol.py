"""The broadcast wire protocol: JSON text frames over one websocket per browser tab.

Client → server::

    {"op": "subscribe", "topic": "market.bars.1s.GOOG", "after": 1234 | null, "epoch": "…" | null}
    {"op": "unsubscribe", "topic": "market.bars.1s.GOOG"}
    {"op": "ping"}

Server → client (``seq`` is the topic's sequence number; ``data`` is the topic's own JSON)::

    {"topic": T, "seq": S, "kind": "snapshot", "epoch": E, "data": …}   the state after message S
    {"topic": T, "seq": S, "kind": "delta", "data": …}                  message S; S = previous + 1
    {"topic": T, "seq": S, "kind": "status", "data": {"state": "live" | "stale", "detail": "…"}}
    {"topic": T, "seq": S, "kind": "resync"}     subscribe again with ``after`` = the last seq applied
    {"topic": T | null, "kind": "error", "data": {"code": "…", "detail": "…"}}
    {"kind": "pong"}

A frame is built once per message and the same ``str`` goes to every subscriber (``delta_frame``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from quanta.broadcast.errors import ProtocolError

TOPIC: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:^=/@-]{0,159}")
"""Topic names: letters, digits and ``._:^=/@-`` (market symbols such as ``^GSPC`` and ``BRK.B``)."""
EPOCH: Final = re.compile(r"[0-9a-f]{1,32}")
MAX_REQUEST_CHARS: Final = 1024
PONG: Final = '{"kind":"pong"}'


class Kind(StrEnum):
    """What a server frame carries."""

    SNAPSHOT = "snapshot"
    DELTA = "delta"
    STATUS = "status"
    RESYNC = "resync"
    ERROR = "error"
    PONG = "pong"


class ErrorCode(StrEnum):
    """Why a request was refused."""

    BAD_REQUEST = "bad-request"
    UNKNOWN_TOPIC = "unknown-topic"
    FORBIDDEN = "forbidden"
    TOO_MANY = "too-many-subscriptions"


_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False, ensure_ascii=False)


def dumps(data: Any) -> str:
    """Compact JSON (no NaN or infinity: browsers' ``JSON.parse`` refuses them)."""
    return _ENCODER.encode(data)


def check_topic(topic: object) -> str:
    """``topic`` if it is a valid topic name, else ``ProtocolError``."""
    if not isinstance(topic, str) or TOPIC.fullmatch(topic) is None:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"not a topic name: {topic!r}")
    return topic


def delta_frame(topic_json: str, seq: int, data_json: str) -> str:
    """The frame of message ``seq`` (``topic_json`` is the topic name already JSON-quoted)."""
    return f'{{"topic":{topic_json},"seq":{seq},"kind":"delta","data":{data_json}}}'


def snapshot_frame(topic_json: str, seq: int, epoch: str, data_json: str) -> str:
    """The frame of a snapshot: the topic's state once messages up to ``seq`` are applied."""
    return f'{{"topic":{topic_json},"seq":{seq},"kind":"snapshot","epoch":"{epoch}","data":{data_json}}}'


def status_frame(topic_json: str, seq: int, state: str, detail: str) -> str:
    """The frame saying whether a topic is live or stale (``seq`` is the last message's)."""
    data = dumps({"state": state, "detail": detail})
    return f'{{"topic":{topic_json},"seq":{seq},"kind":"status","data":{data}}}'


def resync_frame(topic_json: str, seq: int) -> str:
    """The frame telling a subscriber it was dropped and must subscribe again from its last seq."""
    return f'{{"topic":{topic_json},"seq":{seq},"kind":"resync"}}'


def error_frame(topic: str | None, code: ErrorCode, detail: str) -> str:
    """The frame refusing a request."""
    return dumps({"topic": topic, "kind": Kind.ERROR.value, "data": {"code": code.value, "detail": detail}})


@dataclass(frozen=True, slots=True)
class Subscribe:
    """Follow ``topic``: from message ``after + 1`` of ``epoch`` if still held, else from a snapshot."""

    topic: str
    after: int | None = None
    epoch: str | None = None


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    """Stop following ``topic``."""

    topic: str


@dataclass(frozen=True, slots=True)
class Ping:
    """Keepalive: the server answers ``{"kind": "pong"}``."""


Request = Subscribe | Unsubscribe | Ping


def parse_request(text: str) -> Request:
    """A client frame as a request; ``ProtocolError`` if it is not one."""
    if len(text) > MAX_REQUEST_CHARS:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"a request is at most {MAX_REQUEST_CHARS} characters")
    try:
        message = json.loads(text)
    except ValueError as exc:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"not JSON: {exc}") from exc
    if not isinstance(message, dict):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "a request is a JSON object")
    op = message.get("op")
    if op == "ping":
        return Ping()
    if op == "unsubscribe":
        return Unsubscribe(check_topic(message.get("topic")))
    if op == "subscribe":
        return Subscribe(check_topic(message.get("topic")), _after(message), _epoch(message))
    raise ProtocolError(ErrorCode.BAD_REQUEST, f"unknown op {op!r}; use subscribe, unsubscribe or ping")


def _after(message: dict[str, Any]) -> int | None:
    after = message.get("after")
    if after is None:
        return None
    if isinstance(after, bool) or not isinstance(after, int) or not 0 <= after < 2**63:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"after must be a sequence number or null, got {after!r}")
    return after


def _epoch(message: dict[str, Any]) -> str | None:
    epoch = message.get("epoch")
    if epoch is None:
        return None
    if not isinstance(epoch, str) or EPOCH.fullmatch(epoch) is None:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"not an epoch: {epoch!r}")
    return epoch
