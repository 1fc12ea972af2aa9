"""Value objects of the run store: what a saved run records, lists and loads as."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import pandas as pd

RunKind = Literal["backtest", "optimize"]
HEADLINE = ("Return [%]", "Sharpe Ratio", "Max. Drawdown [%]", "# Trades")
"""Statistics shown beside each run in lists."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunMeta:
    """What ``save_run`` records besides the ``Result``.

    ``options`` are the backtest options, ``extra`` anything the kind of run adds (an optimisation's
    method and best rows, a walk-forward's folds), ``prices`` the closing prices per symbol on the
    run's bars (for the report's price chart).
    """

    kind: RunKind = "backtest"
    strategy_file: str | None = None
    class_name: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)
    prices: pd.DataFrame | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSummary:
    """One saved run as listed: who, what, when, and a few headline statistics (JSON-safe values)."""

    run_id: str
    created_at: datetime
    kind: str
    strategy: str
    class_name: str | None
    strategy_file: str | None
    symbols: tuple[str, ...]
    start: datetime | None
    end: datetime | None
    params: dict[str, Any]
    headline: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredRun:
    """A saved run: its summary, options, statistics (JSON-safe), receipt and series.

    ``equity`` has columns ``bar, equity, drawdown_pct`` (a fraction, as backtesting.py's
    ``DrawdownPct``) indexed by ``ts``; ``trades`` one row per closed trade; ``prices`` one close
    column per symbol indexed by ``ts`` (empty when none were saved).
    """

    meta: RunSummary
    options: dict[str, Any]
    extra: dict[str, Any]
    stats: dict[str, Any]
    receipt: dict[str, Any]
    equity: pd.DataFrame
    trades: pd.DataFrame
    prices: pd.DataFrame
