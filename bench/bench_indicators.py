"""Time quanta.indicators against TA-Lib on synthetic bars and print the ratio per function.

.venv/bin/python bench/bench_indicators.py                # 1,000,000 bars, best of 5, then cold starts
.venv/bin/python bench/bench_indicators.py --bars 100000 --only SMA RSI MACD --cold-only SMA

Warm: both libraries are timed in the same process, alternately, after one call on 1,000 bars (which
loads Quanta's compiled kernels from numba's cache). Cold: a fresh Python process per function
(after ``python -m quanta.warmup`` has filled the cache) times the import and the first call on
the full data, against the same for TA-Lib.
"""

from __future__ import annotations

import argparse
import inspect
import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import talib

import quanta.indicators as qi

COLD_DEFAULT = ["SMA", "EMA", "RSI", "MACD", "BBANDS", "ATR", "ADX", "STOCH", "SAR", "MAMA"]


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


def best_times(funcs: list[Callable[..., Any]], args: list[np.ndarray], repeat: int) -> list[float]:
    """Fastest of ``repeat`` runs of each function, in seconds, timed alternately."""
    best = [float("inf")] * len(funcs)
    for _ in range(repeat):
        for k, func in enumerate(funcs):
            start = time.perf_counter()
            func(*args)
            best[k] = min(best[k], time.perf_counter() - start)
    return best


def compared_names(only: list[str] | None) -> list[str]:
    """Registered built-ins that TA-Lib also has."""
    names = [n for n in qi.available_indicators() if hasattr(talib, n)]
    return [n for n in names if n in only] if only else names


COLD_SCRIPT = """
import json, time
import numpy as np
{generator}
bars = synthetic_bars({bars})
ta = time.perf_counter()
if {quanta}:
    import quanta.indicators as lib
    inputs = lib.get_indicator({name!r}).inputs
else:
    import talib as lib
    import quanta.indicators as qi
    inputs = qi.get_indicator({name!r}).inputs
t0 = time.perf_counter()
func = getattr(lib, {name!r})
func(*(bars[i] for i in inputs))
t1 = time.perf_counter()
func(*(bars[i] for i in inputs))
t2 = time.perf_counter()
print(json.dumps({{"import": t0 - ta, "first": t1 - t0, "second": t2 - t1}}))
"""


def cold_call(name: str, bars: int, *, quanta: bool) -> dict[str, float]:
    """Import time, first and second call of ``name`` in a fresh interpreter."""
    generator = inspect.getsource(synthetic_bars)
    code = COLD_SCRIPT.format(generator=generator, bars=bars, quanta=quanta, name=name)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def warm(opts: argparse.Namespace) -> None:
    """In-process timings against TA-Lib, one line per function."""
    bars = synthetic_bars(opts.bars)
    print(f"warm: {opts.bars:,} bars, best of {opts.repeat}")
    print(f"{'function':<22}{'quanta ms':>12}{'talib ms':>12}{'ratio':>9}")
    ratios = []
    for name in compared_names(opts.only):
        spec = qi.get_indicator(name)
        args = [bars[i] for i in spec.inputs]
        spec.func(*(a[:1000] for a in args))  # loads the compiled kernels (or compiles them)
        ours, ref = best_times([spec.func, getattr(talib, name)], args, opts.repeat)
        ratios.append(ours / ref)
        print(f"{name:<22}{ours * 1e3:>12.2f}{ref * 1e3:>12.2f}{ours / ref:>9.1f}")
    if ratios:
        within = sum(r <= 2.0 for r in ratios)
        print(f"median ratio {float(np.median(ratios)):.1f}; within 2x: {within}/{len(ratios)}")


def cold(opts: argparse.Namespace) -> None:
    """Fresh-process first calls against TA-Lib's (after ``python -m quanta.warmup``)."""
    print(f"\ncold: a fresh process per function, {opts.bars:,} bars, after python -m quanta.warmup")
    print(
        f"{'function':<12}{'import ms':>10}{'1st call ms':>13}{'2nd ms':>9}"
        f"{'talib import':>14}{'talib 1st':>11}{'2nd':>7}"
    )
    for name in opts.cold_only or COLD_DEFAULT:
        ours = cold_call(name, opts.bars, quanta=True)
        ref = cold_call(name, opts.bars, quanta=False)
        print(
            f"{name:<12}{ours['import'] * 1e3:>10.0f}{ours['first'] * 1e3:>13.1f}{ours['second'] * 1e3:>9.2f}"
            f"{ref['import'] * 1e3:>14.0f}{ref['first'] * 1e3:>11.1f}{ref['second'] * 1e3:>7.2f}"
        )
    print("(a first call loads numba and the kernels it needs from the cache; later calls do not)")


def main() -> None:
    """Parse arguments, run the timings and print them."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bars", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", nargs="*", default=None, help="warm timings of these functions only")
    parser.add_argument("--cold-only", nargs="*", default=None, help="cold timings of these functions")
    parser.add_argument("--no-cold", action="store_true", help="skip the fresh-process timings")
    opts = parser.parse_args()
    if not opts.cold_only or opts.only:
        warm(opts)
    if not opts.no_cold:
        cold(opts)


if __name__ == "__main__":
    main()
