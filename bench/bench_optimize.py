"""Optimisation speed: every SMA pair 2..100 (fast < slow, 4,851 combinations) on GOOG daily, long only.

Quanta's fastest path: a vectorised (``signals()``) strategy whose SMAs are computed once per window
before the sweep and looked up per combination, run by ``quanta.optimize.grid_search`` on every core
(each run computes all ~30 statistics). When vectorbt is installed (``pip install -e '.[bench]'``) the
same sweep runs through ``vectorbt.Portfolio.from_signals`` (all combinations as columns of one call,
total return only) in the same process, and the ratios are printed. Orders fill at the signal bar's
close in both (``trade_on_close=True``), in whole shares, without fees; the best pair and its return
are checked equal. Usage: ``.venv/bin/python bench/bench_optimize.py [--workers N]``.
"""

from __future__ import annotations

import argparse
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quanta import Backtest, Signals, Strategy, crossovers
from quanta.indicators import SMA
from quanta.optimize import BacktestObjective, Range, cpu_count, grid_search

WINDOWS = range(2, 101)
SMAS: dict[int, np.ndarray] = {}
"""SMA of GOOG's close per window, filled once before the sweep (forked workers inherit it)."""


def goog() -> pd.DataFrame:
    path = Path(
        str(metadata.distribution("bokeh-sampledata").locate_file("bokeh_sampledata/_data/stocks.csv.gz"))
    )
    raw = pd.read_csv(path)
    frame = raw[raw["Ticker"] == "GOOG"]
    frame = frame.set_index(pd.DatetimeIndex(frame["Date"], name="Date"))
    return frame[["Open", "High", "Low", "Close", "Volume"]]


def cached_sma(window: int) -> np.ndarray:
    return SMAS[window]


class SmaCrossLong(Strategy):
    """Long while the fast SMA is above the slow one (entries and exits at the crossings)."""

    fast = 10
    slow = 20

    def init(self) -> None:
        self.fast_ma = self.I(cached_sma, self.fast)
        self.slow_ma = self.I(cached_sma, self.slow)

    def signals(self) -> Signals:
        return Signals(
            entries=crossovers(self.fast_ma, self.slow_ma), exits=crossovers(self.slow_ma, self.fast_ma)
        )


class SmaCrossLongComputed(SmaCrossLong):
    """The same strategy computing its SMAs on every run (to check the cache changes nothing)."""

    def init(self) -> None:
        self.fast_ma = self.I(SMA, self.data.close, self.fast)
        self.slow_ma = self.I(SMA, self.data.close, self.slow)


def sweep(data: pd.DataFrame, workers: int) -> tuple[Any, float]:
    """(result, sweep seconds)."""
    options = {"cash": 10_000.0, "trade_on_close": True}
    objective = BacktestObjective(strategy=SmaCrossLong, data=data, options=options, maximize="Return [%]")
    space = {"fast": Range(2, 100), "slow": Range(2, 100)}
    started = time.perf_counter()
    found = grid_search(objective, space, constraint=lambda p: p["fast"] < p["slow"], workers=workers)
    return found, time.perf_counter() - started


def first_call(data: pd.DataFrame) -> float:
    """Seconds for the first SMA and the first backtest in this process (JIT compilation or cache load)."""
    started = time.perf_counter()
    SMAS[10], SMAS[20] = (SMA(data["Close"].to_numpy(dtype=float), w) for w in (10, 20))
    Backtest(data, SmaCrossLong, trade_on_close=True).run(fast=10, slow=20)
    return time.perf_counter() - started


def check_cache(data: pd.DataFrame) -> None:
    for fast, slow in ((2, 3), (10, 20), (37, 99)):
        a = Backtest(data, SmaCrossLong, trade_on_close=True).run(fast=fast, slow=slow)
        b = Backtest(data, SmaCrossLongComputed, trade_on_close=True).run(fast=fast, slow=slow)
        assert a.digest() == b.digest(), (fast, slow)


def vectorbt_sweep(data: pd.DataFrame) -> tuple[pd.Series, float, float] | None:
    """(total return per (fast, slow), cold seconds, warm seconds), or None without vectorbt."""
    try:
        import vectorbt as vbt  # noqa: PLC0415 - optional: only with the bench extra
    except ImportError:
        return None
    close = data["Close"].astype(float)
    pairs = [(f, s) for f in WINDOWS for s in WINDOWS if f < s]

    def run() -> pd.Series:
        fast = np.column_stack([SMAS[f] for f, _ in pairs])
        slow = np.column_stack([SMAS[s] for _, s in pairs])
        entries = np.zeros(fast.shape, dtype=bool)
        exits = np.zeros(fast.shape, dtype=bool)
        entries[1:] = (fast[:-1] < slow[:-1]) & (fast[1:] > slow[1:])
        exits[1:] = (slow[:-1] < fast[:-1]) & (slow[1:] > fast[1:])
        columns = pd.MultiIndex.from_tuples(pairs, names=["fast", "slow"])
        pf = vbt.Portfolio.from_signals(
            close,
            pd.DataFrame(entries, index=close.index, columns=columns),
            pd.DataFrame(exits, index=close.index, columns=columns),
            init_cash=10_000.0,
            size_granularity=1,
            freq="1D",
        )
        total: pd.Series = pf.total_return()
        return total

    started = time.perf_counter()
    run()
    cold = time.perf_counter() - started
    started = time.perf_counter()
    total = run()
    return total, cold, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=cpu_count(), help="worker processes for quanta")
    args = parser.parse_args()
    data = goog()
    cold = first_call(data)
    started = time.perf_counter()
    SMAS.update({w: SMA(data["Close"].to_numpy(dtype=float), w) for w in WINDOWS})
    precompute = time.perf_counter() - started
    check_cache(data)
    found, seconds = sweep(data, args.workers)
    n = found.evaluated
    best = found.best_params
    print(f"GOOG daily, {len(data)} bars; {n:,} SMA pairs (2..100, fast < slow), long only, fills at close")
    print(f"SMA windows precomputed once: {len(SMAS)} in {precompute * 1e3:.1f} ms")
    print(f"quanta cold first call : {cold * 1e3:9.1f} ms (first SMA and first backtest in the process)")
    print(
        f"quanta grid_search     : {seconds:9.2f} s on {args.workers} workers = {n / seconds:8.0f} combos/s "
        f"(all statistics per combination); best {best} return {found.best.score:.2f}%"
    )
    reference = vectorbt_sweep(data)
    if reference is None:
        print("vectorbt: not installed (pip install -e '.[bench]'); no comparison")
        return
    total, vbt_cold, vbt_warm = reference
    vbt_best = {"fast": int(total.idxmax()[0]), "slow": int(total.idxmax()[1])}
    print(
        f"vectorbt {metadata.version('vectorbt')} cold call : {vbt_cold:9.2f} s (numba compilation included)"
    )
    print(
        f"vectorbt warm call     : {vbt_warm:9.2f} s            = {n / vbt_warm:8.0f} combos/s "
        f"(total return only); best {vbt_best} "
        f"return {total.max() * 100:.2f}%"
    )
    ours = found.rows.set_index(["fast", "slow"])["score"]
    diff = (ours - total.reindex(ours.index) * 100).abs()
    agree = int((diff < 1e-6).sum())
    print(f"returns agree on {agree:,} of {n:,} combinations (max |diff| {diff.max():.2e} pp)")
    print(
        f"ratio quanta/vectorbt time: {seconds / vbt_warm:.2f}x warm, {(seconds + cold) / vbt_cold:.2f}x cold"
    )


if __name__ == "__main__":
    main()
