"""RSI mean reversion: buy oversold dips in an uptrend, sell when the bounce is done.

Goes long when the RSI falls below `oversold` while the price is above its `trend`-bar average (only
buy dips in a rising market), with a stop-loss `stop` below the entry. Exits when the RSI rises above
`exit_level`.
"""

from quanta import Strategy
from quanta.indicators import RSI, SMA

SYMBOLS = ("^GSPC",)


class RsiMeanReversion(Strategy):
    period = 14
    oversold = 30.0
    exit_level = 55.0
    trend = 200
    stop = 0.08

    def init(self) -> None:
        self.rsi = self.I(RSI, self.data.close, self.period)
        self.trend_ma = self.I(SMA, self.data.close, self.trend)

    def next(self) -> None:
        price = self.data.close[-1]
        if not self.position:
            if self.rsi[-1] < self.oversold and price > self.trend_ma[-1]:
                self.buy(sl=price * (1 - self.stop))
        elif self.rsi[-1] > self.exit_level:
            self.position.close()
