"""Streaming events: ticks in, bars out, and dead letters for what cannot be used.

The same immutable types travel through the in-process bus and through Kafka (encoded by
:mod:`quanta.streaming.schema`). Times are integers: milliseconds since the Unix epoch, UTC.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

SYMBOL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._^=/-]{0,31}")
_INTERVAL = re.compile(r"([1-9][0-9]*)(s|m|h)")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000}


@dataclass(frozen=True, slots=True)
class Tick:
    """One trade: ``size`` units of ``symbol`` at ``price`` at event time ``ts`` (ms, UTC).

    ``seq`` numbers a symbol's ticks at the source; it orders ticks with the same ``ts``.
    """

    symbol: str
    ts: int
    price: float
    size: float
    seq: int = 0


@dataclass(frozen=True, slots=True)
class Bar:
    """OHLCV of ``symbol`` over the event-time window ``[start, start + interval)``.

    ``rev`` counts earlier emissions of the same window: 0 when the window closes, 1, 2, … for the
    updates that late ticks (within the allowed lateness) or an earlier bar's update cause.
    ``indicators`` maps names such as ``sma_20`` to values, ``None`` during an indicator's warm-up.
    ``forming`` marks a provisional bar of a window still open (``quanta.bars.<interval>.forming``):
    the ticks so far, for charts; the window's bars with ``forming=False`` are the only final ones.
    """

    symbol: str
    interval: str
    start: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    ticks: int
    rev: int = 0
    indicators: Mapping[str, float | None] = field(default_factory=dict)
    forming: bool = False

    @property
    def key(self) -> tuple[str, str, int]:
        """The window this bar describes: later revisions of it replace earlier ones."""
        return (self.symbol, self.interval, self.start)


class DeadLetterReason(StrEnum):
    """Why a record went to the dead-letter topic instead of into a bar."""

    MALFORMED = "malformed"
    UNSUPPORTED_VERSION = "unsupported-version"
    LATE = "late"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A record that was not used, the reason, a human-readable detail and the record's own bytes."""

    reason: DeadLetterReason
    detail: str
    payload: bytes
    key: str | None = None


def interval_ms(interval: str) -> int:
    """The length of a bar interval such as ``"1s"``, ``"1m"`` or ``"1h"`` in milliseconds."""
    match = _INTERVAL.fullmatch(interval)
    if match is None:
        msg = f"unknown bar interval {interval!r}; use <n>s, <n>m or <n>h, e.g. 1s or 1m"
        raise ValueError(msg)
    return int(match[1]) * _UNIT_MS[match[2]]
