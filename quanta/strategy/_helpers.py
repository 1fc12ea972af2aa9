"""Crossing helpers: scalar ones for ``next()``, array ones for vectorised ``signals()``."""

from __future__ import annotations

from numbers import Real

import numpy as np
from numpy.typing import ArrayLike


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
    if x.shape != y.shape:
        x, y = np.broadcast_arrays(x, y)
    out = np.zeros(x.shape, dtype=bool)
    out[..., 1:] = (x[..., :-1] < y[..., :-1]) & (x[..., 1:] > y[..., 1:])
    return out
