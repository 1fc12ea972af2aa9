"""Time quanta.indicators against TA-Lib on synthetic bars and print the ratio per function.

.venv/bin/python bench/bench_indicators.py                # 1,000,000 bars, best of 3
.venv/bin/python bench/bench_indicators.py --bars 100000 --only SMA RSI MACD
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import talib

import quanta.indicators as qi


def synthetic_bars(n: int, seed: int = 42) -> dict[str, np.ndarray]:
    """A seeded geometric random walk with consistent OHLCV bars."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    wick = np.abs(rng.normal(0.0, 0.005, (2, n))) * close
    high = np.maximum(open_, close) + wick[0]
    low = np.minimum(open_, close) - wick[1]
    volume = rng.integers(1_000, 1_000_000, n).astype(np.float64)
    return {
        "open": open_,
        "high": high,
        "low": low,
        "close": close,
        "volume": volume,
        "real": close,
        "real0": high,
        "real1": low,
        "periods": rng.integers(2, 30, n).astype(np.float64),
    }


def best_time(func: Callable[..., Any], args: list[np.ndarray], repeat: int) -> float:
    """Fastest of ``repeat`` runs, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func(*args)
        best = min(best, time.perf_counter() - start)
    return best


def compared_names(only: list[str] | None) -> list[str]:
    """Registered built-ins that TA-Lib also has."""
    names = [n for n in qi.available_indicators() if hasattr(talib, n)]
    return [n for n in names if n in only] if only else names


def main() -> None:
    """Parse arguments, run the timings and print one line per function."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=None)
    opts = parser.parse_args()
    bars = synthetic_bars(opts.bars)
    print(f"{opts.bars:,} bars, best of {opts.repeat}")
    print(f"{'function':<22}{'quanta ms':>12}{'talib ms':>12}{'ratio':>9}")
    ratios = []
    for name in compared_names(opts.only):
        spec = qi.get_indicator(name)
        args = [bars[i] for i in spec.inputs]
        spec.func(*(a[:1000] for a in args))  # warm-up: lazy imports, first-call caches
        ours = best_time(spec.func, args, opts.repeat)
        ref = best_time(getattr(talib, name), args, opts.repeat)
        ratios.append(ours / ref)
        print(f"{name:<22}{ours * 1e3:>12.2f}{ref * 1e3:>12.2f}{ours / ref:>9.1f}")
    if ratios:
        within = sum(r <= 2.0 for r in ratios)
        print(f"median ratio {float(np.median(ratios)):.1f}; within 2x: {within}/{len(ratios)}")


if __name__ == "__main__":
    main()
