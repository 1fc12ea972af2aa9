"""Reproducibility receipts: what a backtest ran on, hashed, so a result can be re-derived and checked.

A receipt records the sha256 of the strategy's source (its module, or the class when the module is
not available), the parameters as canonical JSON, the sha256 of the data snapshot (every OHLCV byte
and the index), the backtest options and the engine version. Two runs with equal receipts produce
bit-identical results.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import marshal
import math
import platform
import weakref
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

import quanta

ENGINE_VERSION = f"{quanta.__version__}+engine.1"
"""Bumped whenever fill rules or statistic definitions change."""

_SOURCE_CACHE: weakref.WeakKeyDictionary[type, str] = weakref.WeakKeyDictionary()


@dataclass(frozen=True, slots=True, kw_only=True)
class Receipt:
    """The inputs of one backtest run, hashed."""

    strategy: str
    strategy_sha256: str
    params: str
    data_sha256: str
    config: str
    engine_version: str = ENGINE_VERSION
    numpy_version: str = np.__version__
    python_version: str = platform.python_version()

    def to_dict(self) -> dict[str, str]:
        """Plain JSON-able fields."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> Receipt:
        """Inverse of ``to_dict``; unknown fields are rejected."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown receipt fields {sorted(unknown)}")
        return cls(**data)

    def differences(self, other: Receipt) -> list[str]:
        """Names of the fields that differ from ``other`` (empty when the runs are reproducible)."""
        return [f.name for f in fields(self) if getattr(self, f.name) != getattr(other, f.name)]


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, numpy scalars as Python numbers, NaN spelt out."""
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"), allow_nan=False)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def strategy_digest(cls: type) -> str:
    """sha256 of the strategy's module source (or class source, or bytecode as a last resort)."""
    cached = _SOURCE_CACHE.get(cls)
    if cached is None:
        cached = hashlib.sha256(_source_bytes(cls)).hexdigest()
        _SOURCE_CACHE[cls] = cached
    return cached


def _source_bytes(cls: type) -> bytes:
    module = inspect.getmodule(cls)
    for target in (module, cls):
        try:
            return inspect.getsource(target).encode()  # type: ignore[arg-type]
        except (OSError, TypeError):
            continue
    codes = [marshal.dumps(v.__code__) for v in vars(cls).values() if hasattr(v, "__code__")]
    return b"".join(codes) or cls.__qualname__.encode()


def make_receipt(
    *, strategy: type, params: dict[str, Any], data_sha256: str, config: dict[str, Any] | str
) -> Receipt:
    """The receipt of running ``strategy`` with ``params`` on data hashed ``data_sha256``.

    ``config`` is the options' dict or its ``canonical_json`` (to reuse across runs).
    """
    return Receipt(
        strategy=f"{strategy.__module__}.{strategy.__qualname__}",
        strategy_sha256=strategy_digest(strategy),
        params=canonical_json(params),
        data_sha256=data_sha256,
        config=config if isinstance(config, str) else canonical_json(config),
    )
