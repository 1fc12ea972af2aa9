"""Incremental indicators: one value in, one value out, equal to :mod:`quanta.indicators` bit for bit.

Each class repeats the batch kernel's arithmetic in the same order (TA-Lib's running total for
SMA, the SMA-seeded EMA, Wilder's RSI seeded with simple averages), so feeding a series one value
at a time gives exactly the batch result on that series, NaN warm-up included. ``copy()`` returns
an independent state, which the bar operator uses to preview bars that may still change.
"""

from __future__ import annotations

import math
import re
from collections import deque
from dataclasses import dataclass
from typing import Protocol, Self

_SPEC = re.compile(r"([A-Za-z]+):([1-9][0-9]*)")


class StreamingIndicator(Protocol):
    """An indicator fed one value at a time."""

    name: str

    def update(self, value: float) -> float:
        """Take the next value; return the indicator at it (NaN during warm-up)."""
        ...

    def copy(self) -> Self:
        """An independent copy of the current state."""
        ...


class SMA:
    """Simple moving average, as ``quanta.indicators.SMA`` (running total divided by the period)."""

    __slots__ = ("_total", "_window", "name", "period")

    def __init__(self, period: int = 30) -> None:
        self.period = _checked(period, 1)
        self.name = f"sma_{period}"
        self._total = 0.0
        self._window: deque[float] = deque()

    def update(self, value: float) -> float:
        """Next value in, SMA out."""
        if self.period == 1:
            return value
        self._total += value
        self._window.append(value)
        if len(self._window) < self.period:
            return math.nan
        out = self._total / self.period
        self._total -= self._window.popleft()
        return out

    def copy(self) -> Self:
        """An independent copy."""
        twin = type(self)(self.period)
        twin._total = self._total
        twin._window = self._window.copy()
        return twin


class EMA:
    """Exponential moving average, as ``quanta.indicators.EMA``: seeded with the first SMA."""

    __slots__ = ("_count", "_level", "name", "period")

    def __init__(self, period: int = 30) -> None:
        self.period = _checked(period, 1)
        self.name = f"ema_{period}"
        self._count = 0
        self._level = 0.0  # the seed total until the seed bar, then the EMA

    def update(self, value: float) -> float:
        """Next value in, EMA out."""
        p = self.period
        if p == 1:
            return value
        self._count += 1
        if self._count < p:
            self._level += value
            return math.nan
        if self._count == p:
            self._level = (self._level + value) / p
        else:
            k = 2.0 / (p + 1)
            self._level = k * value + (1.0 - k) * self._level
        return self._level

    def copy(self) -> Self:
        """An independent copy."""
        twin = type(self)(self.period)
        twin._count, twin._level = self._count, self._level
        return twin


class RSI:
    """Relative strength index, as ``quanta.indicators.RSI`` (Wilder's smoothing)."""

    __slots__ = ("_count", "_gain", "_loss", "_previous", "name", "period")

    def __init__(self, period: int = 14) -> None:
        self.period = _checked(period, 2)
        self.name = f"rsi_{period}"
        self._count = 0  # values seen
        self._previous = math.nan
        self._gain = self._loss = 0.0

    def update(self, value: float) -> float:
        """Next value in, RSI out."""
        i, self._count = self._count, self._count + 1
        step, self._previous = value - self._previous, value
        if i == 0:
            return math.nan
        up = step if step > 0 else 0.0
        down = -step if step < 0 else 0.0
        p = self.period
        if i < p:
            self._gain += up
            self._loss += down
            return math.nan
        if i == p:
            self._gain = (self._gain + up) / p
            self._loss = (self._loss + down) / p
        else:
            k = 1.0 / p
            self._gain = self._gain * (1.0 - k) + up * k
            self._loss = self._loss * (1.0 - k) + down * k
        total = self._gain + self._loss
        if total == 0.0 or math.isnan(total):
            return 0.0
        return 100.0 * self._gain / total

    def copy(self) -> Self:
        """An independent copy."""
        twin = type(self)(self.period)
        twin._count, twin._previous = self._count, self._previous
        twin._gain, twin._loss = self._gain, self._loss
        return twin


STREAMING_INDICATORS: dict[str, type[SMA] | type[EMA] | type[RSI]] = {"SMA": SMA, "EMA": EMA, "RSI": RSI}


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    """An indicator by TA-Lib name and period, written ``"SMA:20"``; ``key`` names its output."""

    name: str
    period: int

    @classmethod
    def parse(cls, text: str) -> IndicatorSpec:
        """Read ``"SMA:20"``, ``"EMA:50"`` or ``"RSI:14"``."""
        match = _SPEC.fullmatch(text.strip())
        if match is None or match[1].upper() not in STREAMING_INDICATORS:
            known = ", ".join(STREAMING_INDICATORS)
            msg = f"unknown streaming indicator {text!r}; write NAME:PERIOD with NAME one of {known}"
            raise ValueError(msg)
        return cls(match[1].upper(), int(match[2]))

    @property
    def key(self) -> str:
        """The output's name in a bar, e.g. ``sma_20``."""
        return f"{self.name.lower()}_{self.period}"

    def create(self) -> StreamingIndicator:
        """A fresh indicator state."""
        return STREAMING_INDICATORS[self.name](self.period)


def _checked(period: int, minimum: int) -> int:
    if isinstance(period, bool) or not isinstance(period, int) or period < minimum:
        msg = f"period must be an integer ≥ {minimum}, got {period!r}"
        raise ValueError(msg)
    return period
