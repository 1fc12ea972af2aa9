"""Crossing helpers: scalar ones for ``next()``, array ones for vectorised ``signals()``."""

from __future__ import annotations

from numbers import Real

import numpy as np
from numpy.typing import ArrayLike

from quanta._jit import kernel


def _as_array(x: object) -> np.ndarray:
    if isinstance(x, Real):
        return np.array([x, x], dtype=float)
    to_numpy = getattr(x, "to_numpy", None)
    return np.asarray(to_numpy() if callable(to_numpy) else x)


def crossover(a: ArrayLike, b: ArrayLike) -> bool:
    """True when ``a`` crossed above ``b`` on the latest bar: ``a[-2] < b[-2]`` and ``a[-1] > b[-1]``."""
    if type(a) is not np.ndarray:
        a = _as_array(a)
    if type(b) is not np.ndarray:
        b = _as_array(b)
    try:
        return bool(a[-2] < b[-2] and a[-1] > b[-1])  # type: ignore[index]
    except IndexError:
        return False


crossed_above = crossover


def crossed_below(a: ArrayLike, b: ArrayLike) -> bool:
    """True when ``a`` crossed below ``b`` on the latest bar."""
    return crossover(b, a)


def crossovers(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Boolean array: True at every bar where ``a`` crosses above ``b`` (``crossover`` at each bar)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.ndim == 1 and x.shape == y.shape and _plain(x) and _plain(y):  # one pass, compiled
        return _crossings(x, y)
    if x.shape != y.shape:
        x, y = np.broadcast_arrays(x, y)
    out = np.zeros(x.shape, dtype=bool)
    out[..., 1:] = (x[..., :-1] < y[..., :-1]) & (x[..., 1:] > y[..., 1:])
    return out


def _plain(a: np.ndarray) -> bool:
    """Contiguous and writable: the one array type ``_crossings`` is compiled for."""
    flags = a.flags
    return bool(flags.c_contiguous and flags.writeable)


@kernel
def _crossings(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``crossovers`` of two 1-D arrays."""
    n = x.shape[0]
    out = np.empty(n, dtype=np.bool_)
    if n:
        out[0] = False
    for i in range(1, n):
        out[i] = (x[i - 1] < y[i - 1]) & (x[i] > y[i])
    return out
