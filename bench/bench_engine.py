"""Engine speed against backtesting.py 0.6.6, measured in one process: GOOG daily, SMA(10)/SMA(20) cross.

Every run computes the indicators and the full statistics (backtesting.py does both inside ``run``).
Both libraries use the same SMA (``quanta.indicators.SMA``) and the same data frame; the results are
checked equal before timing. Usage: ``.venv/bin/python bench/bench_engine.py [--repeat 7]``.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
import warnings
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import backtesting
import pandas as pd
from backtesting.lib import crossover as bt_crossover

from quanta import Backtest, Signals, Strategy, crossover, crossovers
from quanta.indicators import SMA


def goog() -> pd.DataFrame:
    path = Path(
        str(metadata.distribution("bokeh-sampledata").locate_file("bokeh_sampledata/_data/stocks.csv.gz"))
    )
    raw = pd.read_csv(path)
    frame = raw[raw["Ticker"] == "GOOG"]
    frame = frame.set_index(pd.DatetimeIndex(frame["Date"], name="Date"))
    return frame[["Open", "High", "Low", "Close", "Volume"]]


class BtSmaCross(backtesting.Strategy):
    def init(self):  # type: ignore[no-untyped-def]
        self.fast = self.I(SMA, self.data.Close, 10)
        self.slow = self.I(SMA, self.data.Close, 20)

    def next(self):  # type: ignore[no-untyped-def]
        if bt_crossover(self.fast, self.slow):
            self.position.close()
            self.buy()
        elif bt_crossover(self.slow, self.fast):
            self.position.close()
            self.sell()


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


class SmaCrossSignals(Strategy):
    fast = 10
    slow = 20

    def init(self) -> None:
        self.fast_ma = self.I(SMA, self.data.close, self.fast)
        self.slow_ma = self.I(SMA, self.data.close, self.slow)

    def signals(self) -> Signals:
        up, down = crossovers(self.fast_ma, self.slow_ma), crossovers(self.slow_ma, self.fast_ma)
        return Signals(entries=up, short_entries=down)


def seconds_per_run(run: Callable[[], object], budget: float, repeat: int) -> float:
    """Median over ``repeat`` rounds of the mean time per call, each round lasting about ``budget`` s."""
    run()
    start = time.perf_counter()
    run()
    calls = max(1, int(budget / max(time.perf_counter() - start, 1e-7)))
    rounds = []
    gc.collect()
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(calls):
            run()
        rounds.append((time.perf_counter() - start) / calls)
    return statistics.median(rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7, help="timing rounds per contender (median reported)")
    parser.add_argument("--budget", type=float, default=0.3, help="seconds per round")
    args = parser.parse_args()

    data = goog()
    options = {"cash": 10_000, "commission": 0.002}
    reference = backtesting.Backtest(data, BtSmaCross, **options)  # type: ignore[arg-type]
    event = Backtest(data, SmaCross, **options)
    vector = Backtest(data, SmaCrossSignals, **options)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # backtesting.py warns that the last trade is still open
        ref_stats = reference.run()
        for result in (event.run(), vector.run()):
            assert result.stats["Equity Final [$]"] == ref_stats["Equity Final [$]"]
            assert result.stats["# Trades"] == ref_stats["# Trades"]

        def bt_run() -> object:
            return reference.run()

        t_ref = seconds_per_run(bt_run, args.budget, args.repeat)
    t_event = seconds_per_run(lambda: event.run().stats, args.budget, args.repeat)
    t_vector = seconds_per_run(lambda: vector.run().stats, args.budget, args.repeat)

    print(
        f"GOOG daily, {len(data)} bars, SMA(10)/SMA(20) cross, {ref_stats['# Trades']} trades, stats included"
    )
    print(f"backtesting.py {backtesting.__version__:>8}: {t_ref * 1e3:9.3f} ms/run")
    print(f"quanta event-driven     : {t_event * 1e3:9.3f} ms/run   {t_ref / t_event:6.1f}x faster")
    print(f"quanta vectorised       : {t_vector * 1e3:9.3f} ms/run   {t_ref / t_vector:6.1f}x faster")


if __name__ == "__main__":
    main()
