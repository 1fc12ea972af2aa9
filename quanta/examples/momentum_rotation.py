"""Momentum rotation: every month, hold the strongest stocks of a universe in equal weights.

Every `every` bars, ranks the symbols by their return over the last `lookback` bars and holds the
`top` best, each at an equal share of equity — but only those whose momentum is positive (the rest of
the money stays in cash). A vectorised portfolio strategy: it returns target weights.
"""

import numpy as np

from quanta import Strategy, Targets

SYMBOLS = ("AAPL", "GOOG", "IBM", "MSFT")


def momentum(close: np.ndarray, lookback: int) -> np.ndarray:
    """Return over the last `lookback` bars, per symbol (rows) and bar (columns); NaN before."""
    out = np.full(close.shape, np.nan)
    out[:, lookback:] = close[:, lookback:] / close[:, :-lookback] - 1
    return out


class MomentumRotation(Strategy):
    lookback = 126
    every = 21
    top = 2

    def init(self) -> None:
        self.momentum = self.I(momentum, self.data.close, self.lookback)

    def targets(self) -> Targets:
        weights = np.full(self.momentum.shape, np.nan)
        for bar in range(self.lookback, self.momentum.shape[1], self.every):
            score = self.momentum[:, bar]
            best = np.argsort(-score)[: self.top]
            weights[:, bar] = 0.0
            chosen = best[score[best] > 0]
            weights[chosen, bar] = 1.0 / self.top
        return Targets(weights=weights)
