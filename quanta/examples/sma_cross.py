"""SMA crossover: always in the market, long above the slow average and short below it.

The textbook trend-following system: when the fast simple moving average crosses above the slow one,
close any short and go long; when it crosses below, close the long and go short. Try
`quanta optimize sma_cross.py --param fast=5:50:5 --param slow=10:100:10 --constraint "fast < slow"`.
"""

from quanta import Strategy, crossover
from quanta.indicators import SMA

SYMBOLS = ("GOOG",)


class SmaCross(Strategy):
    fast = 10
    slow = 20

    def init(self) -> None:
        self.fast_ma = self.I(SMA, self.data.close, self.fast)
        self.slow_ma = self.I(SMA, self.data.close, self.slow)

    def next(self) -> None:
        if crossover(self.fast_ma, self.slow_ma):
            self.position.close()
            self.buy()
        elif crossover(self.slow_ma, self.fast_ma):
            self.position.close()
            self.sell()
