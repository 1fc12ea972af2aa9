"""Write strategies: ``Strategy`` with ``init``/``next`` (or vectorised ``signals``/``targets``).

```python
class SmaCross(Strategy):
    fast = 10
    slow = 20

    def init(self):
        self.fast_ma = self.I(SMA, self.data.close, self.fast)
        self.slow_ma = self.I(SMA, self.data.close, self.slow)

    def next(self):
        if crossed_above(self.fast_ma, self.slow_ma):
            self.position.close()
            self.buy()
```
"""

from quanta.strategy._base import Indicator, Strategy
from quanta.strategy._data import Bars, Data
from quanta.strategy._helpers import crossed_above, crossed_below, crossover, crossovers
from quanta.strategy._vector import FULL_EQUITY, Signals, Targets

__all__ = [
    "FULL_EQUITY",
    "Bars",
    "Data",
    "Indicator",
    "Signals",
    "Strategy",
    "Targets",
    "crossed_above",
    "crossed_below",
    "crossover",
    "crossovers",
]
