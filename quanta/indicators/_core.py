"""Shared machinery: input coercion, validation, warm-up handling and fast window kernels.

Every public indicator follows the same path: coerce its inputs to float64 arrays of equal
length, validate its parameters, skip leading NaNs (as the TA-Lib wrapper does), run a kernel on
the clean tail and blank the kernel's warm-up ("lookback") bars with NaN.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array: TypeAlias = NDArray[np.float64]
Kernel: TypeAlias = Callable[..., Array]
MultiKernel: TypeAlias = Callable[..., tuple[Array, ...]]

MAX_PERIOD = 100_000
REAL_LIMIT = 3e37
TOLERANCE = 1e-14  # relative tolerance of TA-Lib's "unchanged" / "flat" tests


@functools.cache
def _signal() -> Any:
    """``scipy.signal``, imported on first use: it takes ~1 s to import, SMA users never need it."""
    import scipy.signal  # type: ignore[import-untyped]  # noqa: PLC0415

    return scipy.signal


def lfilter(b: list[float], a: list[float], x: Array, zi: list[float]) -> Array:
    """``scipy.signal.lfilter`` (first-order IIR) returning only the filtered signal."""
    out: Array = _signal().lfilter(b, a, x, zi=zi)[0]
    return out


# --- inputs and parameters -------------------------------------------------------------------


def as_float_array(values: ArrayLike, name: str = "real") -> Array:
    """Return ``values`` (ndarray, pandas Series, list…) as a 1-D contiguous float64 array."""
    arr = np.ascontiguousarray(np.asarray(values, dtype=np.float64))
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr


def as_inputs(**named: ArrayLike) -> list[Array]:
    """Coerce several named inputs to float64 and check that their lengths agree."""
    arrays = [as_float_array(values, name) for name, values in named.items()]
    if len({len(a) for a in arrays}) > 1:
        sizes = ", ".join(f"{n}={len(a)}" for n, a in zip(named, arrays, strict=True))
        raise ValueError(f"input lengths differ: {sizes}")
    return arrays


def check_period(value: Any, name: str, minimum: int = 2, maximum: int = MAX_PERIOD) -> int:
    """Validate an integer period against TA-Lib's accepted range ``[minimum, maximum]``."""
    if isinstance(value, bool | float):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    try:
        period = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {value!r}") from None
    if not minimum <= period <= maximum:
        raise ValueError(f"{name} must be in [{minimum}, {maximum}], got {period}")
    return period


def check_real(value: Any, name: str, minimum: float = -REAL_LIMIT, maximum: float = REAL_LIMIT) -> float:
    """Validate a real-valued parameter against TA-Lib's accepted range."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise TypeError(f"{name} must be a number, got {value!r}")
    number = float(value)
    if not minimum <= number <= maximum:
        raise ValueError(f"{name} must be in [{minimum}, {maximum}], got {number}")
    return number


# --- warm-up handling ------------------------------------------------------------------------


def nan_array(n: int) -> Array:
    """An array of ``n`` NaNs."""
    return np.full(n, np.nan)


def first_valid(arrays: Sequence[Array]) -> int:
    """Index of the first bar where no input is NaN (TA-Lib starts there)."""
    n = len(arrays[0])
    start = 0
    for arr in arrays:
        if n and np.isnan(arr[0]):
            valid = ~np.isnan(arr)
            start = max(start, int(np.argmax(valid)) if valid.any() else n)
    if start < n and any(np.isnan(arr[start]) for arr in arrays):
        bad = np.isnan(arrays[0])
        for arr in arrays[1:]:
            bad |= np.isnan(arr)
        good = np.flatnonzero(~bad)
        start = int(good[0]) if good.size else n
    return start


def run(kernel: Kernel, lookback: int, *arrays: Array) -> Array:
    """Run a one-output ``kernel`` on the inputs after their leading NaNs; NaN the warm-up."""
    return run_multi(lambda *a: (kernel(*a),), lookback, 1, *arrays)[0]


def run_multi(kernel: MultiKernel, lookback: int, outputs: int, *arrays: Array) -> tuple[Array, ...]:
    """Like :func:`run` for a kernel returning ``outputs`` arrays.

    The kernel sees inputs without leading NaNs and at least ``lookback + 1`` bars long; when the
    valid tail is shorter every output is all-NaN, as in TA-Lib.
    """
    n = len(arrays[0])
    start = first_valid(arrays)
    if n - start <= lookback:
        return tuple(nan_array(n) for _ in range(outputs))
    outs = kernel(*(a[start:] for a in arrays))
    return tuple(_placed(out, start, lookback, arrays) for out in outs)


def _placed(out: Array, start: int, lookback: int, inputs: Sequence[Array]) -> Array:
    """``out`` (computed from bar ``start``) as a full-length array with the warm-up blanked."""
    if start == 0 and not any(np.may_share_memory(out, a) for a in inputs):
        out = np.asarray(out, dtype=np.float64)
        out[:lookback] = np.nan
        return out
    full = nan_array(start + len(out))
    full[start + lookback :] = out[lookback:]
    return full


def on_tail(func: Kernel, x: Array, start: int) -> Array:
    """Apply ``func`` to ``x[start:]`` and place the result back at ``start`` (NaN before)."""
    out = nan_array(len(x))
    if start < len(x):
        out[start:] = func(x[start:])
    return out


def shift(x: Array, k: int) -> Array:
    """``y[i] = x[i - k]`` with NaN for the first ``k`` bars."""
    out = nan_array(len(x))
    if k < len(x):
        out[k:] = x[: len(x) - k]
    return out


def guarded_div(num: Array, den: Array, *, zero_if: NDArray[np.bool_]) -> Array:
    """``num / den`` where ``zero_if`` is false, 0.0 where it is true (TA-Lib's guarded division)."""
    out = np.zeros(len(num))
    np.divide(num, den, out=out, where=~zero_if)
    return out


def nearly_equal(a: Array, b: Array) -> NDArray[np.bool_]:
    """TA-Lib's tolerant equality: ``|a - b| <= 1e-14 * (|a| + |b|)`` (scale-free)."""
    same: NDArray[np.bool_] = np.abs(a - b) <= TOLERANCE * (np.abs(a) + np.abs(b))
    return same


def zero_or_nan(v: Array) -> NDArray[np.bool_]:
    """Where a guarded division must yield 0: an exactly-zero or undefined denominator."""
    zero: NDArray[np.bool_] = (v == 0.0) | np.isnan(v)
    return zero


# --- window kernels --------------------------------------------------------------------------


def rolling_sum(x: Array, period: int) -> Array:
    """Trailing window sums (NaN before ``period - 1``).

    Kept as a running sum (add the new bar, drop the old one) like TA-Lib, so the rounding error
    stays proportional to the window sum instead of the cumulative total.
    """
    out = nan_array(len(x))
    if len(x) < period:
        return out
    out[period - 1] = math.fsum(x[:period])
    out[period:] = out[period - 1] + np.cumsum(x[period:] - x[:-period])
    return out


def rolling_max(x: Array, period: int) -> Array:
    """Trailing window maximum (NaN before ``period - 1``)."""
    return _rolling_extreme(x, period, np.maximum)


def rolling_min(x: Array, period: int) -> Array:
    """Trailing window minimum (NaN before ``period - 1``)."""
    return _rolling_extreme(x, period, np.minimum)


def _rolling_extreme(x: Array, period: int, pick: Callable[[Array, Array], Array]) -> Array:
    """Doubling (sparse-table) scan: extremes over spans of 1, 2, 4… bars, then two overlapping
    spans cover the window. ``log2(period)`` vector passes, exact."""
    n = len(x)
    out = nan_array(n)
    if n < period:
        return out
    span, level = 1, x
    while span * 2 <= period:
        level = pick(level[span:], level[:-span])  # level[k] covers bars k … k + 2·span - 1
        span *= 2
    # level[k] covers [k, k + span); the window [i - period + 1, i] is two such spans
    first = level[: n - period + 1]
    second = level[period - span : n - span + 1]
    out[period - 1 :] = pick(first, second)
    return out


def rolling_argext(x: Array, period: int, *, highest: bool) -> NDArray[np.intp]:
    """Index of the extreme in each trailing window, for windows ending at ``period - 1 …``;
    ties go to the latest bar (as TA-Lib's AROON does)."""
    n = len(x)
    better = np.greater_equal if highest else np.less_equal
    value, index = x, np.arange(n)
    span = 1
    while span * 2 <= period:
        later_wins = better(value[span:], value[:-span])
        value = np.where(later_wins, value[span:], value[:-span])
        index = np.where(later_wins, index[span:], index[:-span])
        span *= 2
    old_v, old_i = value[: n - period + 1], index[: n - period + 1]
    new_v, new_i = value[period - span : n - span + 1], index[period - span : n - span + 1]
    result: NDArray[np.intp] = np.where(better(new_v, old_v), new_i, old_i)
    return result


# --- recursions ------------------------------------------------------------------------------


def ema_seeded(x: Array, alpha: float, seed: float, start: int) -> Array:
    """EMA ``y[i] = y[i-1] + alpha * (x[i] - y[i-1])`` from ``y[start] = seed`` (NaN before)."""
    out = nan_array(len(x))
    if start >= len(x):
        return out
    out[start] = seed
    if start + 1 < len(x):
        decay = 1.0 - alpha
        out[start + 1 :] = lfilter([alpha], [1.0, -decay], x[start + 1 :], zi=[decay * seed])
    return out


def ema_sma_seed(x: Array, period: int, alpha: float | None = None) -> Array:
    """TA-Lib's EMA: ``k = 2 / (period + 1)``, seeded with the mean of the first ``period`` bars."""
    if len(x) < period:
        return nan_array(len(x))
    k = 2.0 / (period + 1) if alpha is None else alpha
    return ema_seeded(x, k, float(x[:period].sum() / period), period - 1)


def wilder_seeded(x: Array, period: int, seed: float, start: int) -> Array:
    """Wilder smoothing ``y[i] = (y[i-1] * (period - 1) + x[i]) / period`` from ``y[start] = seed``."""
    return ema_seeded(x, 1.0 / period, seed, start)


def decaying_sum(x: Array, period: int, seed: float, start: int) -> Array:
    """Wilder's running total ``y[i] = y[i-1] - y[i-1] / period + x[i]`` from ``y[start] = seed``."""
    out = nan_array(len(x))
    out[start] = seed
    if start + 1 < len(x):
        decay = 1.0 - 1.0 / period
        out[start + 1 :] = lfilter([1.0], [1.0, -decay], x[start + 1 :], zi=[decay * seed])
    return out


def linear_recurrence(a: Array, b: Array, y0: float, block: int = 128) -> Array:
    """Solve ``y[i] = a[i] * y[i-1] + b[i]`` with ``y[-1] = y0`` for ``0 < a <= 1``.

    Blocks of ``block`` bars are solved at once with cumulative products (no underflow while
    ``min(a) ** block`` stays normal); only the carry between blocks is sequential.
    """
    n = len(a)
    if n == 0:
        return np.empty(0)
    if float(np.min(a)) ** block < 1e-250:
        return _linear_recurrence_loop(a, b, y0)
    nb = -(-n // block)
    pa = np.ones(nb * block)
    pb = np.zeros(nb * block)
    pa[:n] = a
    pb[:n] = b
    prod = np.cumprod(pa.reshape(nb, block), axis=1)
    local = prod * np.cumsum(pb.reshape(nb, block) / prod, axis=1)
    carry = _carry(prod[:, -1].tolist(), local[:, -1].tolist(), y0)
    out: Array = (local + prod * carry[:, None]).ravel()[:n]
    return out


def _carry(gain: list[float], offset: list[float], y0: float) -> Array:
    """Value entering each block of :func:`linear_recurrence`."""
    out = [y0] * len(gain)
    y = y0
    for k in range(len(gain) - 1):
        y = gain[k] * y + offset[k]
        out[k + 1] = y
    return np.asarray(out)


def _linear_recurrence_loop(a: Array, b: Array, y0: float) -> Array:
    out = np.empty(len(a))
    y = y0
    for i, (ai, bi) in enumerate(zip(a.tolist(), b.tolist(), strict=True)):
        y = ai * y + bi
        out[i] = y
    return out


def window_dot(x: Array, weights: Array) -> Array:
    """Trailing ``sum(weights * window)`` (weights oldest → newest), NaN before the first window.

    Each window is summed afresh (direct or overlap-add convolution), so the result does not
    drift over long series the way a running total does.
    """
    p = len(weights)
    out = nan_array(len(x))
    if len(x) < p:
        return out
    kernel = weights[::-1]
    if p <= 128:
        out[p - 1 :] = np.convolve(x, kernel, mode="valid")
    else:
        out[p - 1 :] = _signal().oaconvolve(x, kernel, mode="valid")
    return out


def true_range(high: Array, low: Array, close: Array) -> Array:
    """Wilder's true range from bar 1 on (bar 0 is NaN)."""
    out = nan_array(len(high))
    prev = close[:-1]
    h, lo = high[1:], low[1:]
    out[1:] = np.maximum(np.maximum(h - lo, np.abs(h - prev)), np.abs(lo - prev))
    return out
