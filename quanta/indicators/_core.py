"""Shared machinery: input coercion, validation, warm-up handling and window kernels.

Every public indicator follows the same path: coerce its inputs to float64 arrays of equal
length, validate its parameters, skip leading NaNs (as the TA-Lib wrapper does), run a kernel on
the clean tail and blank the kernel's warm-up ("lookback") bars with NaN.

The kernels are numba loops (``quanta._jit.kernel``) in the private modules beside this one, one
per family; a kernel calls only kernels of its own module, so that numba's on-disk cache never
outlives a change to a callee.
"""

from __future__ import annotations

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


# --- inputs and parameters -------------------------------------------------------------------


def as_float_array(values: ArrayLike, name: str = "real") -> Array:
    """Return ``values`` (ndarray, pandas Series, list…) as a 1-D contiguous float64 array.

    A read-only array (Arrow-backed data, say) is copied, so that every kernel is compiled for
    one array type only.
    """
    arr = np.ascontiguousarray(np.asarray(values, dtype=np.float64))
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr if arr.flags.writeable else arr.copy()


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
    if not n or not any(math.isnan(arr[0]) for arr in arrays):
        return 0
    start = 0
    for arr in arrays:
        if math.isnan(arr[0]):
            valid = ~np.isnan(arr)
            start = max(start, int(np.argmax(valid)) if valid.any() else n)
    if start < n and any(math.isnan(arr[start]) for arr in arrays):
        bad = np.isnan(arrays[0])
        for arr in arrays[1:]:
            bad |= np.isnan(arr)
        good = np.flatnonzero(~bad)
        start = int(good[0]) if good.size else n
    return start


def run(kernel: Kernel, lookback: int, *arrays: Array) -> Array:
    """Run a one-output ``kernel`` on the inputs after their leading NaNs; NaN the warm-up."""
    n = len(arrays[0])
    start = first_valid(arrays)
    if n - start <= lookback:
        return nan_array(n)
    if start:
        arrays = tuple(a[start:] for a in arrays)
    return _placed(kernel(*arrays), start, lookback, arrays)


def run_multi(kernel: MultiKernel, lookback: int, outputs: int, *arrays: Array) -> tuple[Array, ...]:
    """Like :func:`run` for a kernel returning ``outputs`` arrays.

    The kernel sees inputs without leading NaNs and at least ``lookback + 1`` bars long; when the
    valid tail is shorter every output is all-NaN, as in TA-Lib.
    """
    n = len(arrays[0])
    start = first_valid(arrays)
    if n - start <= lookback:
        return tuple(nan_array(n) for _ in range(outputs))
    if start:
        arrays = tuple(a[start:] for a in arrays)
    return tuple(_placed(out, start, lookback, arrays) for out in kernel(*arrays))


def _placed(out: Array, start: int, lookback: int, inputs: Sequence[Array]) -> Array:
    """``out`` (computed from bar ``start``) as a full-length array with the warm-up blanked."""
    if start == 0 and not any(np.may_share_memory(out, a) for a in inputs):
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
