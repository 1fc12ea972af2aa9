"""Score events: an entry's figures after a mark, the records of the ``quanta.scores`` topic.

Keyed by competition, compact JSON with a schema version like :mod:`quanta.paper.events`::

    score {"v":1,"c":"cp_…","e":"en_…","r":12,"t":1700000004000,"k":5,"eq":101250.0,"ret":1.25,
           "dd":0.4,"sh":1.9,"so":2.7,"ca":30.1,"n":3,"sc":1.25,"dq":false}
          competition, entry, revision (1, 2, … per entry: a later revision replaces an earlier one),
          time of the last mark (window start, ms UTC), marks so far, equity, return %, maximum
          drawdown %, Sharpe, Sortino, Calmar (null while undefined), fills, score (null while
          undefined), disqualified (drawdown over the limit)

A reader accepts version 1 and ignores keys it does not know; ``decode_score`` raises
``MalformedEventError`` on anything else.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from quanta.streaming.errors import MalformedEventError
from quanta.streaming.events import DeadLetterReason

__all__ = ["SCHEMA_VERSION", "ScoreEvent", "decode_score", "encode_score"]

SCHEMA_VERSION = 1
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True, allow_nan=False)
_MAX_ID = 64


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoreEvent:
    """Where an entry stands after its latest mark."""

    competition: str
    entry: str
    rev: int
    ts: int
    marks: int
    equity: float
    return_pct: float
    max_drawdown_pct: float
    sharpe: float | None
    sortino: float | None
    calmar: float | None
    trades: int
    score: float | None
    disqualified: bool = False


def encode_score(event: ScoreEvent) -> bytes:
    """The score as one JSON object (``MalformedEventError`` for a non-finite figure)."""
    record = {
        "v": SCHEMA_VERSION,
        "c": event.competition,
        "e": event.entry,
        "r": event.rev,
        "t": event.ts,
        "k": event.marks,
        "eq": event.equity,
        "ret": event.return_pct,
        "dd": event.max_drawdown_pct,
        "sh": event.sharpe,
        "so": event.sortino,
        "ca": event.calmar,
        "n": event.trades,
        "sc": event.score,
        "dq": event.disqualified,
    }
    try:
        return _ENCODER.encode(record).encode()
    except ValueError as exc:
        raise MalformedEventError(DeadLetterReason.MALFORMED, f"refusing to encode {event!r}: {exc}") from exc


def decode_score(data: bytes) -> ScoreEvent:
    """Read a score written by :func:`encode_score`."""
    record = _record(data)
    disqualified = record.get("dq", False)
    if not isinstance(disqualified, bool):
        raise _malformed("dq", "true or false", disqualified)
    return ScoreEvent(
        competition=_text(record, "c"),
        entry=_text(record, "e"),
        rev=_integer(record, "r"),
        ts=_integer(record, "t"),
        marks=_integer(record, "k"),
        equity=_number(record, "eq"),
        return_pct=_number(record, "ret"),
        max_drawdown_pct=_number(record, "dd"),
        sharpe=_optional(record, "sh"),
        sortino=_optional(record, "so"),
        calmar=_optional(record, "ca"),
        trades=_integer(record, "n"),
        score=_optional(record, "sc"),
        disqualified=disqualified,
    )


def _record(data: bytes) -> dict[str, Any]:
    try:
        record = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedEventError(DeadLetterReason.MALFORMED, f"score is not JSON: {exc}") from exc
    if not isinstance(record, dict):
        raise MalformedEventError(DeadLetterReason.MALFORMED, "score is not a JSON object")
    if record.get("v") != SCHEMA_VERSION:
        detail = f"score schema version {record.get('v')!r}; this reader knows 1"
        raise MalformedEventError(DeadLetterReason.UNSUPPORTED_VERSION, detail)
    return record


def _malformed(key: str, expected: str, got: object) -> MalformedEventError:
    return MalformedEventError(
        DeadLetterReason.MALFORMED, f"score field {key!r}: expected {expected}, got {got!r}"
    )


def _text(record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not 0 < len(value) <= _MAX_ID:
        raise _malformed(key, f"a string of 1 to {_MAX_ID} characters", value)
    return value


def _integer(record: dict[str, Any], key: str) -> int:
    value = record.get(key)
    if type(value) is not int or not 0 <= value < 2**53:
        raise _malformed(key, "a non-negative integer", value)
    return value


def _number(record: dict[str, Any], key: str) -> float:
    value = record.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise _malformed(key, "a finite number", value)
    return float(value)


def _optional(record: dict[str, Any], key: str) -> float | None:
    return None if record.get(key) is None else _number(record, key)
