"""Vectorised strategies: return whole-history signals or target weights instead of deciding per bar."""

from __future__ import annotations

import functools
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
from numpy.typing import ArrayLike

FULL_EQUITY = 1 - sys.float_info.epsilon
"""Default order size: all available margin (backtesting.py's ``_FULL_EQUITY``)."""

SignalInput: TypeAlias = ArrayLike | Mapping[str, ArrayLike] | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Signals:
    """Boolean arrays over the whole history, acted on at each bar's close like ``next()`` would.

    An entry closes any opposite position and opens ``size`` (as ``buy(size=…)``) unless already
    in that direction; an exit closes the position in its direction. Entries win over exits.
    For several symbols pass ``{symbol: array}`` or a 2-D array with one row per symbol.
    """

    entries: SignalInput = None
    exits: SignalInput = None
    short_entries: SignalInput = None
    short_exits: SignalInput = None
    size: float = FULL_EQUITY


@dataclass(frozen=True, slots=True, kw_only=True)
class Targets:
    """Target weights of equity per symbol and bar; NaN means "leave as is".

    At every bar with a weight the engine rebalances that symbol to it at the next fill
    (as ``order_target_percent``). Pass ``{symbol: array}`` or a ``(n_symbols, n_bars)`` array.
    """

    weights: ArrayLike | Mapping[str, ArrayLike]


def as_matrix(value: SignalInput, symbols: tuple[str, ...], n: int, *, dtype: type, name: str) -> np.ndarray:
    """A ``(n_symbols, n_bars)`` array from one array, a 2-D array or a ``{symbol: array}`` mapping."""
    if type(value) is np.ndarray and value.shape == (n,) and len(symbols) == 1:  # the common case, first
        return _cast(value[None, :], dtype, name)
    fill = np.nan if dtype is float else False
    if value is None:
        return _blank(len(symbols), n, dtype)
    if isinstance(value, Mapping):
        unknown = set(value) - set(symbols)
        if unknown:
            raise ValueError(f"{name}: unknown symbols {sorted(unknown)}; have {list(symbols)}")
        rows = [
            _row(value[s], n, dtype, f"{name}[{s!r}]") if s in value else np.full(n, fill) for s in symbols
        ]
        return np.stack(rows).astype(dtype, copy=False)
    arr = _as_numpy(value)
    if arr.ndim == 1:
        if len(symbols) != 1:
            raise ValueError(f"{name}: pass {{symbol: array}} or a 2-D array for {len(symbols)} symbols")
        arr = arr[None, :]
    if arr.shape != (len(symbols), n):
        raise ValueError(f"{name}: expected shape {(len(symbols), n)}, got {arr.shape}")
    return _cast(arr, dtype, name)


@functools.lru_cache(maxsize=16)
def _blank(k: int, n: int, dtype: type) -> np.ndarray:
    """A read-only all-False (or all-NaN) matrix, shared by every run of that shape."""
    out = np.zeros((k, n), dtype=bool) if dtype is bool else np.full((k, n), np.nan)
    out.flags.writeable = False
    return out


def _as_numpy(value: object) -> np.ndarray:
    to_numpy = getattr(value, "to_numpy", None)
    return np.asarray(to_numpy() if callable(to_numpy) else value)


def _row(value: object, n: int, dtype: type, name: str) -> np.ndarray:
    arr = _as_numpy(value)
    if arr.shape != (n,):
        raise ValueError(f"{name}: expected {n} values, got shape {arr.shape}")
    return _cast(arr, dtype, name)


def _cast(arr: np.ndarray, dtype: type, name: str) -> np.ndarray:
    if dtype is bool:
        if arr.dtype != bool:
            if arr.dtype.kind == "f" and np.isnan(arr).any():
                raise ValueError(f"{name}: signals must be boolean, got NaN")
            arr = arr.astype(bool)
        return arr
    return arr.astype(float)
