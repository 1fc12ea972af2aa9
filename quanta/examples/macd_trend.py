"""MACD trend: long while the MACD line is above its signal line and the price above a long average.

A vectorised strategy: enter when the MACD line (`fast`/`slow` EMAs) crosses above its `signal`-bar
EMA while the close is above its `trend`-bar EMA; exit when the MACD line crosses back below.
"""

import numpy as np

from quanta import Signals, Strategy, crossovers
from quanta.indicators import EMA, MACD

SYMBOLS = ("MSFT",)


class MacdTrend(Strategy):
    fast = 12
    slow = 26
    signal = 9
    trend = 100

    def init(self) -> None:
        self.macd, self.macd_signal, _ = self.I(MACD, self.data.close, self.fast, self.slow, self.signal)
        self.trend_ema = self.I(EMA, self.data.close, self.trend)

    def signals(self) -> Signals:
        uptrend = np.nan_to_num(self.data.close - self.trend_ema) > 0
        return Signals(
            entries=crossovers(self.macd, self.macd_signal) & uptrend,
            exits=crossovers(self.macd_signal, self.macd),
        )
