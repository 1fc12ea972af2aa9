"""Wilder's parabolic stop-and-reverse, shared by SAR and SAREXT.

The stop depends on yesterday's stop, trend and extreme point, so this is a sequential loop.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

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


def _starts_long(high: Array, low: Array, start: float) -> bool:
    """Initial trend: given by ``start``'s sign, else long unless bar 1 has a minus DM."""
    if start != 0.0:
        return start > 0.0
    up = high[1] - high[0]
    down = low[0] - low[1]
    return not (down > 0.0 and up < down)


def sar_kernel(high: Array, low: Array, s: SarSettings) -> Array:
    """Stop values from bar 1 on (bar 0 is NaN); short stops are negative."""
    hs, ls = high.tolist(), low.tolist()
    out = [np.nan] * len(hs)
    is_long = _starts_long(high, low, s.start)
    if is_long:
        ep, sar = hs[1], (s.start if s.start != 0.0 else ls[0])
    else:
        ep, sar = ls[1], (abs(s.start) if s.start != 0.0 else hs[0])
    af_long, af_short = s.init_long, s.init_short
    new_high, new_low = hs[1], ls[1]
    for i in range(1, len(hs)):
        prev_high, prev_low = new_high, new_low
        new_high, new_low = hs[i], ls[i]
        if is_long:
            if new_low <= sar:
                is_long, af_short = False, s.init_short
                sar = max(ep, prev_high, new_high)
                if s.offset != 0.0:
                    sar += sar * s.offset
                out[i] = -sar
                ep = new_low
                sar = max(sar + af_short * (ep - sar), prev_high, new_high)
            else:
                out[i] = sar
                if new_high > ep:
                    ep = new_high
                    af_long = min(af_long + s.step_long, s.max_long)
                sar = min(sar + af_long * (ep - sar), prev_low, new_low)
        elif new_high >= sar:
            is_long, af_long = True, s.init_long
            sar = min(ep, prev_low, new_low)
            if s.offset != 0.0:
                sar -= sar * s.offset
            out[i] = sar
            ep = new_high
            sar = min(sar + af_long * (ep - sar), prev_low, new_low)
        else:
            out[i] = -sar
            if new_low < ep:
                ep = new_low
                af_short = min(af_short + s.step_short, s.max_short)
            sar = max(sar + af_short * (ep - sar), prev_high, new_high)
    return np.asarray(out)
