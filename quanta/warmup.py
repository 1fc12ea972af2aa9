"""Compile every numba kernel once, filling numba's on-disk cache: ``python -m quanta.warmup``.

Quanta's indicators, vectorised backtests and statistics run numba kernels (``quanta._jit``),
compiled on first use. Compiling all of them takes a minute; loading them from the cache takes
milliseconds. Run this once after installing (``make python`` does) so that no user waits for a
compiler. It is idempotent: a second run only loads what is cached.

The cache is written beside the sources (``quanta/**/__pycache__``) when that folder is writable,
else to ``~/.cache/numba``; set ``NUMBA_CACHE_DIR`` to a folder writable by the user that runs the
app when neither suits (an image built by root and run by another user, say). Run this as that
user, with that setting.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from quanta import _jit

BARS = 400  # longer than every indicator's warm-up


def sample_bars(n: int = BARS, seed: int = 7) -> dict[str, np.ndarray]:
    """Seeded OHLCV bars under every input name the indicators use (``real``, ``periods``…)."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0.0, 0.005, n)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0.0, 0.005, n)))
    volume = rng.integers(1_000, 100_000, n).astype(np.float64)
    periods = rng.integers(2, 30, n).astype(np.float64)
    return {
        "open": open_,
        "high": high,
        "low": low,
        "close": close,
        "volume": volume,
        "real": close,
        "real0": high,
        "real1": low,
        "periods": periods,
    }


def warm_indicators(bars: dict[str, np.ndarray]) -> int:
    """Call every registered indicator with its defaults (and every moving-average type)."""
    import quanta.indicators as qi  # noqa: PLC0415 - the subject of the warm-up

    calls: list[tuple[Callable[..., Any], dict[str, Any]]] = []
    for name in qi.available_indicators():
        spec = qi.get_indicator(name)
        calls.append((spec.func, {}))
        if "matype" in spec.params:
            calls += [(spec.func, {"matype": kind}) for kind in qi.MA_Type]
    for func, kwargs in calls:
        spec_inputs = qi.get_indicator(func.__name__).inputs
        func(*(bars[i] for i in spec_inputs), **kwargs)
    return len(calls)


def warm_engine(bars: dict[str, np.ndarray]) -> int:
    """Run the vectorised fast path and the event-driven broker, with statistics, on a small market
    (as a full ``Result`` and as statistics alone)."""
    import pandas as pd  # noqa: PLC0415

    from quanta import Backtest, Signals, Strategy, crossovers  # noqa: PLC0415
    from quanta.indicators import SMA  # noqa: PLC0415
    from quanta.stats import STAT_NAMES  # noqa: PLC0415

    frame = pd.DataFrame(
        {k.capitalize(): bars[k] for k in ("open", "high", "low", "close", "volume")},
        index=pd.bdate_range("2020-01-01", periods=len(bars["close"])),
    )

    class Cross(Strategy):
        def signals(self) -> Signals:
            fast, slow = SMA(self.data.close, 5), SMA(self.data.close, 15)
            return Signals(entries=crossovers(fast, slow), short_entries=crossovers(slow, fast))

    class CrossWithExits(Strategy):
        def signals(self) -> Signals:
            fast, slow = SMA(self.data.close, 5), SMA(self.data.close, 15)
            up, down = crossovers(fast, slow), crossovers(slow, fast)
            return Signals(entries=up, exits=down, short_entries=down, short_exits=up, size=0.5)

    class PerBar(Strategy):
        def init(self) -> None:
            self.fast, self.slow = self.I(SMA, self.data.close, 5), self.I(SMA, self.data.close, 15)

        def next(self) -> None:
            if self.fast[-1] > self.slow[-1] and not self.position:
                self.buy()
            elif self.fast[-1] < self.slow[-1] and self.position:
                self.position.close()

    runs = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for strategy in (Cross, CrossWithExits, PerBar):
            for finalize in (False, True):
                bt = Backtest(frame, strategy, commission=0.002, finalize_trades=finalize)
                bt.run()
                bt.run_stats(STAT_NAMES)  # the optimisers' path: statistics without a Result
                runs += 2
    return runs


def uncompiled() -> list[_jit.Kernel]:
    """Kernels neither compiled (or loaded) for some argument types nor called by one that was."""
    ready = [k for k in _jit.KERNELS if k.signatures()]
    seen = {id(k) for k in ready}
    while ready:
        caller = ready.pop()
        namespace = caller.py_func.__globals__
        for name in caller.py_func.__code__.co_names:
            callee = next((k for k in _jit.KERNELS if k.py_func is _target(namespace.get(name))), None)
            if callee is not None and id(callee) not in seen:
                seen.add(id(callee))
                ready.append(callee)
    return [k for k in _jit.KERNELS if id(k) not in seen]


def _target(value: Any) -> Any:
    """The Python function behind a kernel wrapper or a numba dispatcher (else ``value``)."""
    return getattr(value, "py_func", value)


def cache_report() -> tuple[int, int]:
    """How many compiled signatures were loaded from numba's cache and how many were compiled."""
    hits = misses = 0
    for k in _jit.KERNELS:
        stats = getattr(k.dispatcher(), "stats", None) if k.signatures() else None
        if stats is not None:
            hits += sum(stats.cache_hits.values())
            misses += sum(stats.cache_misses.values())
    return hits, misses


def main(argv: list[str] | None = None) -> int:
    """Warm every kernel up; report what was compiled or loaded, and how long it took."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quiet", action="store_true", help="print nothing unless something is missing")
    opts = parser.parse_args(argv)
    started = time.perf_counter()
    bars = sample_bars()
    calls = warm_indicators(bars)
    runs = warm_engine(bars)
    missing = uncompiled()
    took = time.perf_counter() - started
    loaded, compiled = cache_report()
    if not opts.quiet or missing:
        print(
            f"quanta.warmup: {calls} indicator calls and {runs} backtests in {took:.1f}s; "
            f"{loaded} kernels loaded from numba's cache, {compiled} compiled"
        )
    for k in missing:
        print(f"  not compiled: {k!r}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
