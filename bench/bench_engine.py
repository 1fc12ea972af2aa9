"""Engine speed against backtesting.py 0.6.6 on GOOG daily with an SMA(10)/SMA(20) cross.

Every run computes the indicators and the full statistics (backtesting.py does both inside ``run``).
Both libraries use the same SMA (``quanta.indicators.SMA``) and the same data frame; the results are
checked equal before timing. Warm: one process, median of rounds. Cold: a fresh process per library
(after ``python -m quanta.warmup``), timing its first ``run()`` and a second one.
Usage: ``.venv/bin/python bench/bench_engine.py [--repeat 7] [--no-cold]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import backtesting
import pandas as pd
from backtesting.lib import crossover as bt_crossover

from quanta import Backtest
from quanta.indicators import SMA
from quanta.testing.strategies import SmaCross, SmaCrossSignals


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


COLD_SCRIPT = """
import json, sys, time, warnings
sys.path.insert(0, {here!r})
import bench_engine as b
data = b.goog()
options = {{"cash": 10_000, "commission": 0.002}}
warnings.simplefilter("ignore")
if {which!r} == "backtesting.py":
    bt = b.backtesting.Backtest(data, b.BtSmaCross, **options)
    run = bt.run
else:
    bt = b.Backtest(data, b.SmaCross if {which!r} == "event" else b.SmaCrossSignals, **options)
    run = lambda: bt.run().stats
t0 = time.perf_counter(); run(); t1 = time.perf_counter(); run(); t2 = time.perf_counter()
print(json.dumps({{"first": t1 - t0, "second": t2 - t1}}))
"""


def cold_run(which: str) -> dict[str, float]:
    """First and second ``run()`` of ``which`` in a fresh interpreter (data loaded beforehand)."""
    code = COLD_SCRIPT.format(here=str(Path(__file__).parent), which=which)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def cold() -> None:
    """Fresh-process first runs (numba loads the kernels from its cache on the first one)."""
    print("cold (a fresh process each, after python -m quanta.warmup):")
    for which in ("backtesting.py", "event", "vectorised"):
        t = cold_run(which)
        print(f"  {which:<15} first run {t['first'] * 1e3:8.1f} ms, second {t['second'] * 1e3:7.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=7, help="timing rounds per contender (median reported)")
    parser.add_argument("--budget", type=float, default=0.3, help="seconds per round")
    parser.add_argument("--no-cold", action="store_true", help="skip the fresh-process timings")
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
    if not args.no_cold:
        cold()


if __name__ == "__main__":
    main()
