"""One vectorised backtest on 1M synthetic bars: Quanta's Signals API vs vectorbt's Portfolio.from_signals.

Both get the same seeded regime-switching GBM bars and the same SMA(10)/SMA(50) cross entries and exits,
fill at the next bar's open (vectorbt: ``price=open.shift(-1)``), 0.02 % commission, long only, 1,000,000
cash (so fees never ruin the account and every order can be filled).
Timed warm (best of 3, after one untimed call).
Without vectorbt installed (``make bench`` installs it into .venv-bench) only Quanta's figure is printed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from importlib import metadata

import pandas as pd
import pyarrow as pa

from quanta import Backtest, Signals, Strategy, crossovers
from quanta.data import synthetic_bars
from quanta.indicators import SMA

N_BARS = 1_000_000
COMMISSION = 0.0002


class SmaCrossSignals(Strategy):
    fast = 10
    slow = 50

    def init(self) -> None:
        self.fast_ma = self.I(SMA, self.data.close, self.fast)
        self.slow_ma = self.I(SMA, self.data.close, self.slow)

    def signals(self) -> Signals:
        return Signals(
            entries=crossovers(self.fast_ma, self.slow_ma), exits=crossovers(self.slow_ma, self.fast_ma)
        )


def bars() -> pd.DataFrame:
    table = pa.concat_tables(synthetic_bars(N_BARS, seed=7, freq="1min"))
    frame = table.select(["ts", "open", "high", "low", "close", "volume"]).to_pandas().set_index("ts")
    return frame.rename(columns=str.capitalize)


def best_of(call: Callable[[], object], repeats: int = 3) -> float:
    call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return min(times)


def vectorbt_run(data: pd.DataFrame) -> tuple[float, float] | None:
    try:
        import vectorbt as vbt  # noqa: PLC0415 - optional: only in the bench environment
    except ImportError:
        return None
    close = data["Close"]
    next_open = data["Open"].shift(-1)
    fast, slow = SMA(close.to_numpy(), 10), SMA(close.to_numpy(), 50)
    entries = pd.Series(crossovers(fast, slow), index=close.index)
    exits = pd.Series(crossovers(slow, fast), index=close.index)

    def simulate() -> float:
        portfolio = vbt.Portfolio.from_signals(
            close, entries, exits, price=next_open, fees=COMMISSION, init_cash=1_000_000
        )
        return float(portfolio.total_return())

    return best_of(simulate), simulate()


def main() -> None:
    data = bars()
    backtest = Backtest(data, SmaCrossSignals, cash=1_000_000, commission=COMMISSION)
    ours = best_of(backtest.run)
    result = backtest.run()
    print(f"{N_BARS:,} synthetic 1-minute bars, SMA(10/50) cross, long only, fills at the next open")
    print(
        f"quanta Signals backtest : {ours * 1000:8.1f} ms ({result.stats['# Trades']} trades, all statistics)"
    )
    reference = vectorbt_run(data)
    if reference is None:
        print("vectorbt: not installed (make bench installs it into .venv-bench); no comparison")
        return
    theirs, total_return = reference
    version = metadata.version("vectorbt")
    print(f"vectorbt {version} from_signals: {theirs * 1000:8.1f} ms (total return only)")
    print(
        f"returns: quanta {result.stats['Return [%]']:.4f} %, vectorbt {100 * total_return:.4f} % "
        "(quanta buys whole units, vectorbt fractional ones)"
    )
    print(f"ratio quanta/vectorbt time: {ours / theirs:.2f}x")


if __name__ == "__main__":
    main()
