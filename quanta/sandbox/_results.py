"""Results as the JSON a job hands back: statistics, trades, equity curve and receipt."""

from __future__ import annotations

import math
from typing import Any

from quanta.engine import Result
from quanta.optimize import OptimizeResult, WalkForwardResult
from quanta.runs import json_value, stats_json, trade_records


def backtest_json(result: Result) -> dict[str, Any]:
    """``stats``, ``trades``, ``equity`` (``ts``, ``equity``, ``drawdown_pct``), ``params``, ``receipt``."""
    index = result.pandas_index()
    equity = [
        {"ts": json_value(ts), "equity": _number(value), "drawdown_pct": _number(drawdown)}
        for ts, value, drawdown in zip(index, result.equity.tolist(), result.drawdown.tolist(), strict=True)
    ]
    return {
        "stats": stats_json(result.stats),
        "trades": trade_records(result),
        "equity": equity,
        "params": {str(k): json_value(v) for k, v in result.params.items()},
        "receipt": json_safe(result.receipt.to_dict()),
    }


MAX_GRID_ROWS = 2_500
"""Parameter sets whose scores an optimise result lists (for heatmaps), best first."""


def optimize_json(found: OptimizeResult) -> dict[str, Any]:
    """The search summary (best parameters, the best rows), the best run's statistics and ``grid``: the
    parameters and score of every evaluated set (up to ``MAX_GRID_ROWS``, best first)."""
    summary = json_safe(found.to_dict())
    summary["stats"] = stats_json(found.best.result.stats) if found.top else None
    names = [name for name in found.names if name in found.rows.columns]
    if "score" in found.rows.columns:
        frame = found.rows.head(MAX_GRID_ROWS)
        summary["grid"] = [
            {"params": {name: json_value(row[name]) for name in names}, "score": json_value(row["score"])}
            for row in frame[[*names, "score"]].to_dict("records")
        ]
    else:
        summary["grid"] = []
    return {str(k): v for k, v in summary.items()}


def walk_forward_json(found: WalkForwardResult) -> dict[str, Any]:
    """The folds (windows, fitted parameters, in- and out-of-sample scores), the stitched out-of-sample
    run's statistics, and as ``best_params`` the last fold's: the parameters to trade next."""
    summary = json_safe(found.to_dict())
    summary["stats"] = stats_json(found.result.stats)
    summary["best_params"] = json_safe(found.folds[-1].params) if found.folds else {}
    summary["evaluated"] = len(found.folds)
    summary["grid"] = []
    return {str(k): v for k, v in summary.items()}


def json_safe(value: Any) -> Any:
    """``value`` with every leaf JSON-safe (see ``quanta.runs.json_value``)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return json_value(value)


def _number(value: float) -> float | None:
    return None if math.isnan(value) else value
