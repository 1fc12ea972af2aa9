"""Pairs trade: bet on two related stocks' price ratio returning to its recent average.

Computes the z-score of the log price ratio of the first symbol to the second over `window` bars.
Above `entry` the first is rich: short it and buy the second (half the equity each); below `-entry`
the reverse. Both legs are closed when the z-score comes back within `exit` of zero.
"""

import numpy as np

from quanta import Strategy

SYMBOLS = ("KO", "PEP")


def zscore(a: np.ndarray, b: np.ndarray, window: int) -> np.ndarray:
    """Z-score of log(a / b) against its trailing `window`-bar mean and standard deviation."""
    spread = np.log(np.asarray(a) / np.asarray(b))
    out = np.full(spread.shape, np.nan)
    for i in range(window - 1, len(spread)):
        chunk = spread[i - window + 1 : i + 1]
        sd = chunk.std()
        out[i] = (spread[i] - chunk.mean()) / sd if sd > 0 else 0.0
    return out


class PairsTrade(Strategy):
    window = 40
    entry = 1.5
    exit = 0.25

    def init(self) -> None:
        self.first, self.second = self.symbols[:2]
        self.z = self.I(zscore, self.data[self.first].close, self.data[self.second].close, self.window)

    def next(self) -> None:
        z = self.z[-1]
        held = self.positions[self.first]
        if not held and abs(z) > self.entry:
            side = -1 if z > 0 else 1
            self.rebalance({self.first: 0.5 * side, self.second: -0.5 * side})
        elif held and abs(z) < self.exit:
            self.rebalance({})
