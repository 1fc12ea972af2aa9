"""Optimisation speed: every SMA pair 2..100 (fast < slow, 4,851 combinations) on GOOG daily, long only.

Quanta's fastest path: a vectorised (``signals()``) strategy whose SMAs are computed once per window
before the sweep and looked up per combination, run by ``quanta.optimize.grid_search`` on every core
(each run computes the score and the statistics a search keeps, ``ROW_STATS``, with the same values
as a full backtest). When vectorbt is installed (``pip install -e '.[bench]'``) the same sweep runs
through ``vectorbt.Portfolio.from_signals`` (all combinations as columns of one call, total return
only) in the same process, and the ratios are printed. Orders fill at the signal bar's close in both
(``trade_on_close=True``), in whole shares, without fees; the best pair and its return are checked
equal. Warm figures are the best of ``--rounds`` (5) rounds, each timing quanta's sweep then
vectorbt's warm call, so that both meet the same load on a shared machine.
Usage: ``.venv/bin/python bench/bench_optimize.py [--workers N] [--rounds N]``.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quanta import Backtest, Signals, Strategy, crossovers
from quanta.indicators import SMA
from quanta.optimize import ROW_STATS, BacktestObjective, Range, cpu_count, grid_search

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
    """Seconds for the first SMA, the first backtest and the first sweep evaluation in this process
    (JIT compilation or cache load; forked workers inherit what is loaded)."""
    started = time.perf_counter()
    SMAS[10], SMAS[20] = (SMA(data["Close"].to_numpy(dtype=float), w) for w in (10, 20))
    Backtest(data, SmaCrossLong, trade_on_close=True).run(fast=10, slow=20)
    objective = BacktestObjective(strategy=SmaCrossLong, data=data, options={"trade_on_close": True})
    objective.evaluator(None)({"fast": 10, "slow": 20})
    return time.perf_counter() - started


def check_cache(data: pd.DataFrame) -> None:
    for fast, slow in ((2, 3), (10, 20), (37, 99)):
        a = Backtest(data, SmaCrossLong, trade_on_close=True).run(fast=fast, slow=slow)
        b = Backtest(data, SmaCrossLongComputed, trade_on_close=True).run(fast=fast, slow=slow)
        assert a.digest() == b.digest(), (fast, slow)


def vectorbt_sweep(data: pd.DataFrame) -> Callable[[], pd.Series] | None:
    """The sweep in vectorbt, as a function returning the total return per (fast, slow); None
    without vectorbt."""
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

    return run


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    """(what ``call`` returns, seconds it took)."""
    started = time.perf_counter()
    out = call()
    return out, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=cpu_count(), help="worker processes for quanta")
    parser.add_argument("--rounds", type=int, default=5, help="warm timings of each; the best is kept")
    args = parser.parse_args()
    data = goog()
    cold = first_call(data)
    started = time.perf_counter()
    SMAS.update({w: SMA(data["Close"].to_numpy(dtype=float), w) for w in WINDOWS})
    precompute = time.perf_counter() - started
    check_cache(data)
    reference = vectorbt_sweep(data)
    vbt_cold = timed(reference)[1] if reference is not None else math.nan
    found, ours, theirs, total = rounds(data, args.workers, max(1, args.rounds), reference)
    n = found.evaluated
    print(f"GOOG daily, {len(data)} bars; {n:,} SMA pairs (2..100, fast < slow), long only, fills at close")
    print(f"SMA windows precomputed once: {len(SMAS)} in {precompute * 1e3:.1f} ms")
    print(f"quanta cold first call : {cold * 1e3:9.1f} ms (first SMA, backtest and sweep evaluation)")
    print(
        f"quanta grid_search     : {min(ours):9.2f} s on {args.workers} workers = {n / min(ours):8.0f} "
        f"combos/s (score + {len(ROW_STATS)} statistics per combination); best {found.best_params} "
        f"return {found.best.score:.2f}%; rounds {rates(n, ours)}"
    )
    if total is None:
        print("vectorbt: not installed (pip install -e '.[bench]'); no comparison")
        return
    compare(found, total, ours, theirs, (cold, vbt_cold))


def rounds(
    data: pd.DataFrame, workers: int, count: int, reference: Callable[[], pd.Series] | None
) -> tuple[Any, list[float], list[float], pd.Series | None]:
    """Quanta's sweep then vectorbt's warm call, ``count`` times: (quanta's result, quanta's
    seconds, vectorbt's seconds, vectorbt's total returns)."""
    ours: list[float] = []
    theirs: list[float] = []
    total = None
    for _ in range(count):
        found, seconds = sweep(data, workers)
        ours.append(seconds)
        if reference is not None:
            total, vbt_seconds = timed(reference)
            theirs.append(vbt_seconds)
    return found, ours, theirs, total


def compare(
    found: Any, total: pd.Series, ours: list[float], theirs: list[float], cold: tuple[float, float]
) -> None:
    """Print vectorbt's figures, check both found the same returns, and print the speed-ups."""
    n, vbt_warm = found.evaluated, min(theirs)
    vbt_best = {"fast": int(total.idxmax()[0]), "slow": int(total.idxmax()[1])}
    print(
        f"vectorbt {metadata.version('vectorbt')} cold call : {cold[1]:9.2f} s (numba compilation included)"
    )
    print(
        f"vectorbt warm call     : {vbt_warm:9.2f} s            = {n / vbt_warm:8.0f} combos/s "
        f"(total return only); best {vbt_best} return {total.max() * 100:.2f}%; rounds {rates(n, theirs)}"
    )
    scores = found.rows.set_index(["fast", "slow"])["score"]
    diff = (scores - total.reindex(scores.index) * 100).abs()
    agree = int((diff < 1e-6).sum())
    print(f"returns agree on {agree:,} of {n:,} combinations (max |diff| {diff.max():.2e} pp)")
    per_round = ", ".join(f"{b / a:.2f}x" for a, b in zip(ours, theirs, strict=True))
    print(
        f"quanta speed-up over vectorbt: {vbt_warm / min(ours):.2f}x warm (best of {len(ours)} rounds each; "
        f"per round {per_round}), {cold[1] / (ours[0] + cold[0]):.2f}x cold"
    )


def rates(n: int, seconds: list[float]) -> str:
    """Throughput of each round, in thousands of combinations per second."""
    return ", ".join(f"{n / s / 1e3:.1f}k" for s in seconds)


if __name__ == "__main__":
    main()
