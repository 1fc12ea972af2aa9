"""Results as JSON-safe values: statistics, trades and the receipt, for storage, the CLI and the web.

Timestamps become ISO strings, durations ``{"seconds": s, "display": "3 days 00:00:00"}``, NaN
``null`` and infinities the strings ``"Infinity"``/``"-Infinity"`` (what JavaScript's ``Number``
parses); numpy scalars become plain numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from quanta.engine import Result

_INFINITY = {"Infinity": math.inf, "-Infinity": -math.inf}


def json_value(value: Any) -> Any:
    """One statistic, cell or parameter (lists and dicts too) as a JSON-safe value."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return _scalar(value)


def _scalar(value: Any) -> Any:
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, timedelta):
        delta = pd.Timedelta(value)
        return {"seconds": delta.total_seconds(), "display": str(delta)}
    if isinstance(value, datetime):
        return pd.Timestamp(value).isoformat()
    return repr(value)


def _float(value: float) -> float | str | None:
    if math.isfinite(value):
        return value
    return None if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def stats_json(stats: Mapping[str, Any]) -> dict[str, Any]:
    """Statistics keyed by backtesting.py's names, as JSON-safe values."""
    return {name: json_value(value) for name, value in stats.items()}


def number(value: Any) -> float:
    """A JSON-safe statistic as a float (NaN when it is not a number)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value in _INFINITY:
        return _INFINITY[value]
    if isinstance(value, Mapping) and "seconds" in value:
        return float(value["seconds"])
    return math.nan


def display(value: Any) -> str:
    """A JSON-safe statistic as people read it (as backtesting.py prints its statistics)."""
    if value is None:
        return "NaN"
    if isinstance(value, Mapping) and "display" in value:
        return str(value["display"])
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.5f}".rstrip("0").rstrip(".") if math.isfinite(value) else str(value)
    if isinstance(value, str) and "T" in value and value[:4].isdigit():
        return value.replace("T", " ")
    return str(value)


def trade_records(result: Result) -> list[dict[str, Any]]:
    """Closed trades as JSON-safe dicts (times from the run's index)."""
    t = result.trades
    index = result.pandas_index()
    records = []
    for i in range(len(t)):
        entry, exit_ = int(t.entry_bar[i]), int(t.exit_bar[i])
        records.append(
            {
                "symbol": str(t.symbol[i]),
                "size": json_value(t.size[i]),
                "entry_bar": entry,
                "exit_bar": exit_,
                "entry_time": json_value(index[entry]),
                "exit_time": json_value(index[exit_]),
                "entry_price": json_value(t.entry_price[i]),
                "exit_price": json_value(t.exit_price[i]),
                "sl": json_value(t.sl[i]),
                "tp": json_value(t.tp[i]),
                "pnl": json_value(t.pnl[i]),
                "return_pct": json_value(t.return_pct[i]),
                "commission": json_value(t.commission[i]),
                "tag": json_value(t.tag[i]),
            }
        )
    return records


def result_json(result: Result) -> dict[str, Any]:
    """Statistics (top-level keys, backtesting.py's names) plus ``params``, ``trades`` and ``receipt``."""
    return {
        **stats_json(result.stats),
        "params": {k: json_value(v) for k, v in result.params.items()},
        "trades": trade_records(result),
        "receipt": result.receipt.to_dict(),
    }
