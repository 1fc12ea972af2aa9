"""Bollinger breakout: ride a close above the upper band until the price falls back to the middle.

A vectorised strategy (no Python per bar): entries where the close crosses above the upper Bollinger
band (`period` bars, `width` standard deviations), exits where it crosses below the middle band.
Long only.
"""

from quanta import Signals, Strategy, crossovers
from quanta.indicators import BBANDS

SYMBOLS = ("AAPL",)


class BollingerBreakout(Strategy):
    period = 20
    width = 2.0

    def init(self) -> None:
        self.upper, self.middle, self.lower = self.I(
            BBANDS, self.data.close, self.period, self.width, self.width
        )

    def signals(self) -> Signals:
        close = self.data.close
        return Signals(entries=crossovers(close, self.upper), exits=crossovers(self.middle, close))
