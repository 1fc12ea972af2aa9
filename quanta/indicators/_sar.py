"""Wilder's parabolic stop-and-reverse, shared by SAR and SAREXT.

The stop depends on yesterday's stop, trend and extreme point, so this is a sequential loop.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from quanta._jit import kernel
from quanta.indicators._core import Array


@dataclass(frozen=True, kw_only=True)
class SarSettings:
    """SAREXT's parameters (``start``: 0 = detect, > 0 start long there, < 0 start short)."""

    start: float = 0.0
    offset: float = 0.0
    init_long: float = 0.02
    step_long: float = 0.02
    max_long: float = 0.2
    init_short: float = 0.02
    step_short: float = 0.02
    max_short: float = 0.2

    @classmethod
    def symmetric(cls, acceleration: float, maximum: float) -> SarSettings:
        """Settings of the classic SAR."""
        return cls(
            init_long=acceleration,
            step_long=acceleration,
            max_long=maximum,
            init_short=acceleration,
            step_short=acceleration,
            max_short=maximum,
        ).capped()

    def capped(self) -> SarSettings:
        """Accelerations limited to their maxima."""
        return replace(
            self,
            init_long=min(self.init_long, self.max_long),
            step_long=min(self.step_long, self.max_long),
            init_short=min(self.init_short, self.max_short),
            step_short=min(self.step_short, self.max_short),
        )


def sar_kernel(high: Array, low: Array, s: SarSettings) -> Array:
    """Stop values from bar 1 on (bar 0 is NaN); short stops are negative."""
    return sar_loop(
        high,
        low,
        np.array(
            [s.start, s.offset, s.init_long, s.step_long, s.max_long, s.init_short, s.step_short, s.max_short]
        ),
    )


@kernel
def sar_loop(high: Array, low: Array, settings: Array) -> Array:  # noqa: PLR0912 - Wilder's cases, inline
    """The stop-and-reverse loop; ``settings`` holds :class:`SarSettings`' fields in order."""
    start, offset, init_long, step_long, max_long, init_short, step_short, max_short = settings
    n = len(high)
    out = np.empty(n)
    out[0] = np.nan
    if start != 0.0:  # the initial trend: given by start's sign, else long unless bar 1 has a minus DM
        is_long = start > 0.0
    else:
        up, down = high[1] - high[0], low[0] - low[1]
        is_long = not (down > 0.0 and up < down)
    if is_long:
        ep, sar = high[1], (start if start != 0.0 else low[0])
    else:
        ep, sar = low[1], (abs(start) if start != 0.0 else high[0])
    af_long, af_short = init_long, init_short
    new_high, new_low = high[1], low[1]
    for i in range(1, n):
        prev_high, prev_low = new_high, new_low
        new_high, new_low = high[i], low[i]
        if is_long:
            if new_low <= sar:
                is_long, af_short = False, init_short
                sar = _max3(ep, prev_high, new_high)
                if offset != 0.0:
                    sar += sar * offset
                out[i] = -sar
                ep = new_low
                sar = _max3(sar + af_short * (ep - sar), prev_high, new_high)
            else:
                out[i] = sar
                if new_high > ep:
                    ep = new_high
                    af_long = _min2(af_long + step_long, max_long)
                sar = _min3(sar + af_long * (ep - sar), prev_low, new_low)
        elif new_high >= sar:
            is_long, af_long = True, init_long
            sar = _min3(ep, prev_low, new_low)
            if offset != 0.0:
                sar -= sar * offset
            out[i] = sar
            ep = new_high
            sar = _min3(sar + af_long * (ep - sar), prev_low, new_low)
        else:
            out[i] = -sar
            if new_low < ep:
                ep = new_low
                af_short = _min2(af_short + step_short, max_short)
            sar = _max3(sar + af_short * (ep - sar), prev_high, new_high)
    return out


@kernel(inline=True)
def _min2(a: float, b: float) -> float:
    """Python's ``min(a, b)``: ``b`` only when it is smaller."""
    return b if b < a else a


@kernel(inline=True)
def _min3(a: float, b: float, c: float) -> float:
    """Python's ``min(a, b, c)``."""
    return _min2(_min2(a, b), c)


@kernel(inline=True)
def _max3(a: float, b: float, c: float) -> float:
    """Python's ``max(a, b, c)``: a later value only when it is larger."""
    m = b if b > a else a
    return c if c > m else m
