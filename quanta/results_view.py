"""View models of saved runs for the results pages: lists, statistics, charts and trade markers.

The web app shows these; it never reads the run store's tables itself.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd
from ibis.backends import BaseBackend

from quanta import data
from quanta.data import MarketDataError
from quanta.explorer import columnar
from quanta.runs import HEADLINE, RunSummary, StoredRun, display, list_runs, load_run

EQUITY_COLOR = "#4f46e5"
DRAWDOWN_COLOR = "#e5484d"
LONG_COLOR = "#16a34a"
SHORT_COLOR = "#dc2626"
EXIT_COLOR = "#6b7280"
TRADE_COLUMNS = ("entry_time", "exit_time", "side", "size", "entry_price", "exit_price", "pnl", "return_pct")


@dataclass(frozen=True, kw_only=True)
class RunDetail:
    """Everything the page of one run shows, JSON-ready."""

    summary: dict[str, str]
    stats: list[dict[str, str]]
    equity: dict[str, Any]
    drawdown: dict[str, Any]
    candles: dict[str, list[float | int]] = field(default_factory=dict)
    markers: list[dict[str, Any]] = field(default_factory=list)
    trades: list[dict[str, str]] = field(default_factory=list)
    receipt: list[dict[str, str]] = field(default_factory=list)


def run_rows(*, runs: BaseBackend, limit: int = 50) -> list[dict[str, str]]:
    """The newest runs as table rows: id, when, strategy, symbols, period and headline statistics."""
    return [_row(summary) for summary in list_runs(con=runs, limit=limit)]


def run_detail(*, runs: BaseBackend, market: BaseBackend, run_id: str) -> RunDetail:
    """One run's statistics, equity and drawdown curves, candles with trade markers, trades and receipt.

    Candles and markers are drawn for single-symbol runs whose symbol is in the market store.
    """
    run = load_run(con=runs, run_id=run_id)
    seconds = _epoch_seconds(run.equity.index)
    candles, markers = _candles_and_markers(market, run)
    return RunDetail(
        summary=_row(run.meta),
        stats=[{"name": name, "value": display(value)} for name, value in run.stats.items()],
        equity=_series(seconds, "Equity", EQUITY_COLOR, run.equity["equity"].tolist()),
        drawdown=_series(
            seconds, "Drawdown %", DRAWDOWN_COLOR, [-100.0 * v for v in run.equity["drawdown_pct"].tolist()]
        ),
        candles=candles,
        markers=markers,
        trades=[_trade_row(trade) for trade in run.trades.to_dict("records")],
        receipt=[{"name": key, "value": str(value)} for key, value in run.receipt.items()],
    )


def job_detail(
    *,
    result: Mapping[str, Any],
    market: BaseBackend,
    symbols: list[str],
    start: date | None = None,
    end: date | None = None,
) -> RunDetail:
    """A sandboxed backtest's result (``quanta.sandbox`` job JSON: ``stats``, ``equity``, ``trades``,
    ``params``, ``receipt``) as the same view model as a saved run's.

    Candles and markers are drawn for single-symbol runs whose symbol is in the market store, over
    ``start``–``end`` (default: the equity curve's span).
    """
    points = list(result.get("equity") or [])
    stamps = pd.to_datetime([point["ts"] for point in points]) if points else pd.DatetimeIndex([])
    seconds = _epoch_seconds(stamps)
    trades = _trades_frame(result.get("trades") or [])
    params = dict(result.get("params") or {})
    period = [
        start or (stamps[0].date() if len(stamps) else None),
        end or (stamps[-1].date() if len(stamps) else None),
    ]
    summary = {
        "run_id": "",
        "strategy": str(result.get("strategy") or ""),
        "symbols": ", ".join(symbols),
        "period": " → ".join(day.isoformat() for day in period if day is not None),
        "params": ", ".join(f"{key}={value}" for key, value in params.items()),
    }
    stats = dict(result.get("stats") or {})
    summary.update({name: display(stats.get(name)) for name in HEADLINE})
    candles: dict[str, list[float | int]] = {}
    markers: list[dict[str, Any]] = []
    if len(symbols) == 1 and period[0] is not None and period[1] is not None:
        try:
            frame = data.bars(market, symbols[0], start=period[0], end=period[1]).to_polars()
        except MarketDataError:
            frame = None
        if frame is not None:
            candles, markers = columnar(frame), _markers(trades)
    return RunDetail(
        summary=summary,
        stats=[{"name": name, "value": display(value)} for name, value in stats.items()],
        equity=_series(seconds, "Equity", EQUITY_COLOR, [_float(p.get("equity")) for p in points]),
        drawdown=_series(
            seconds, "Drawdown %", DRAWDOWN_COLOR, [-100.0 * _float(p.get("drawdown_pct")) for p in points]
        ),
        candles=candles,
        markers=markers,
        trades=[_trade_row(trade) for trade in trades.to_dict("records")],
        receipt=[
            {"name": str(key), "value": str(value)} for key, value in (result.get("receipt") or {}).items()
        ],
    )


@dataclass(frozen=True, kw_only=True)
class OptimizeDetail:
    """What an optimisation found, JSON-ready: the best parameters (``{name, value}`` rows, values as
    text), the best run's statistics, and a heatmap of the score over the first two parameters (the best
    score over the others): ``heatmap = {x, y, columns, rows: [{label, cells: [{text, color, ink}]}]}``,
    empty without parameters."""

    best_params: list[dict[str, str]]
    stats: list[dict[str, str]]
    heatmap: dict[str, Any]
    evaluated: int
    maximize: str
    folds: list[dict[str, str]]


HEAT_COLORS = ("#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b")
"""A light-to-dark blue scale: low scores light, high scores dark."""
EMPTY_CELL = "#e5e7eb"


def optimize_detail(*, result: Mapping[str, Any], names: list[str] | None = None) -> OptimizeDetail:
    """An optimise job's result (``best_params``, ``stats``, ``grid``: every set's params and score)
    as what the page shows; ``names`` orders the parameters (default: as the grid has them)."""
    best = dict(result.get("best_params") or {})
    grid = [row for row in result.get("grid") or [] if isinstance(row, Mapping)]
    order = names or (list(grid[0].get("params") or {}) if grid else list(best))
    return OptimizeDetail(
        best_params=[{"name": str(k), "value": str(v)} for k, v in best.items()],
        stats=[
            {"name": name, "value": display(value)} for name, value in (result.get("stats") or {}).items()
        ],
        heatmap=_heatmap(grid, order[:2]) if order else {},
        evaluated=int(result.get("evaluated") or len(grid)),
        maximize=str(result.get("maximize") or ""),
        folds=[_fold_row(fold) for fold in result.get("folds") or [] if isinstance(fold, Mapping)],
    )


def _fold_row(fold: Mapping[str, Any]) -> dict[str, str]:
    """One walk-forward fold as text: its test window, the parameters fitted before it, both scores."""
    params = fold.get("params") or {}
    return {
        "fold": str(int(fold.get("fold", 0)) + 1),
        "test": f"{_day_text(fold.get('test_start'))} → {_day_text(fold.get('test_end'))}",
        "params": ", ".join(f"{k} = {v}" for k, v in params.items()),
        "in_sample": display(fold.get("in_sample")),
        "out_of_sample": display(fold.get("out_of_sample")),
    }


def _day_text(value: Any) -> str:
    return str(value or "")[:10]


def _heatmap(grid: list[Mapping[str, Any]], axes: list[str]) -> dict[str, Any]:
    x = axes[0]
    y = axes[1] if len(axes) > 1 else ""
    best: dict[tuple[Any, Any], float] = {}
    for row in grid:
        params, score = row.get("params") or {}, row.get("score")
        if x not in params or (y and y not in params):
            continue
        key = (params[x], params[y] if y else "")
        value = float(score) if isinstance(score, int | float) and math.isfinite(score) else math.nan
        if key not in best or (not math.isnan(value) and (math.isnan(best[key]) or value > best[key])):
            best[key] = value
    xs = sorted({k[0] for k in best}, key=_sort_key)
    ys = sorted({k[1] for k in best}, key=_sort_key, reverse=True)  # high values on top, like a chart
    finite = [v for v in best.values() if not math.isnan(v)]
    low, high = (min(finite), max(finite)) if finite else (0.0, 0.0)
    top = max(best.items(), key=lambda kv: -math.inf if math.isnan(kv[1]) else kv[1])[0] if finite else None
    rows = [
        {"label": str(b), "cells": [_cell(best.get((a, b)), low, high, top == (a, b)) for a in xs]}
        for b in ys
    ]
    return {"x": x, "y": y, "columns": [str(a) for a in xs], "rows": rows}


def _cell(value: float | None, low: float, high: float, is_best: bool) -> dict[str, str]:
    if value is None or math.isnan(value):
        return {"text": "", "color": EMPTY_CELL, "ink": "#6b7280", "best": ""}
    share = 0.5 if high == low else (value - low) / (high - low)
    step = min(len(HEAT_COLORS) - 1, int(share * len(HEAT_COLORS)))
    return {
        "text": f"{value:.3g}",
        "color": HEAT_COLORS[step],
        "ink": "#ffffff" if step >= 3 else "#111827",
        "best": "best" if is_best else "",
    }


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int | float) and not isinstance(value, bool) else (1, str(value))


def _trades_frame(records: list[Mapping[str, Any]]) -> pd.DataFrame:
    columns = ["entry_time", "exit_time", "size", "entry_price", "exit_price", "pnl", "return_pct"]
    frame = pd.DataFrame.from_records(list(records), columns=columns)
    for name in ("entry_time", "exit_time"):
        frame[name] = pd.to_datetime(frame[name])
    for name in columns[2:]:
        frame[name] = pd.to_numeric(frame[name]).astype(float)
    return frame


def _float(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _row(summary: RunSummary) -> dict[str, str]:
    period = " → ".join(stamp.date().isoformat() for stamp in (summary.start, summary.end) if stamp)
    row = {
        "run_id": summary.run_id,
        "created": summary.created_at.strftime("%Y-%m-%d %H:%M"),
        "kind": summary.kind,
        "strategy": summary.strategy,
        "symbols": ", ".join(summary.symbols),
        "period": period,
        "params": ", ".join(f"{key}={value}" for key, value in summary.params.items()),
    }
    row.update({name: display(summary.headline.get(name)) for name in HEADLINE})
    return row


def _epoch_seconds(index: pd.Index) -> list[int]:
    if isinstance(index, pd.DatetimeIndex):
        return [int(stamp.timestamp()) for stamp in index]
    return list(range(len(index)))


def _series(times: list[int], name: str, color: str, values: list[float]) -> dict[str, Any]:
    clean = [None if v is None or math.isnan(v) else round(v, 6) for v in values]
    return {"t": times, "series": [{"name": name, "color": color, "values": clean, "area": True}]}


def _candles_and_markers(
    market: BaseBackend, run: StoredRun
) -> tuple[dict[str, list[float | int]], list[dict[str, Any]]]:
    if len(run.meta.symbols) != 1 or run.meta.start is None or run.meta.end is None:
        return {}, []
    symbol = run.meta.symbols[0]
    try:
        frame = data.bars(market, symbol, start=run.meta.start, end=run.meta.end).to_polars()
    except MarketDataError:
        return {}, []
    return columnar(frame), _markers(run.trades)


def _markers(trades: pd.DataFrame) -> list[dict[str, Any]]:
    marks: list[dict[str, Any]] = []
    for trade in trades.to_dict("records"):
        long = trade["size"] > 0
        if pd.notna(trade["entry_time"]):
            marks.append(_marker(trade["entry_time"], long=long, text="Buy" if long else "Short"))
        if pd.notna(trade["exit_time"]):
            marks.append(_exit_marker(trade["exit_time"], long=long, pnl=trade["pnl"]))
    return sorted(marks, key=lambda mark: mark["time"])


def _marker(stamp: pd.Timestamp, *, long: bool, text: str) -> dict[str, Any]:
    return {
        "time": int(pd.Timestamp(stamp).timestamp()),
        "position": "belowBar" if long else "aboveBar",
        "color": LONG_COLOR if long else SHORT_COLOR,
        "shape": "arrowUp" if long else "arrowDown",
        "text": text,
    }


def _exit_marker(stamp: pd.Timestamp, *, long: bool, pnl: float) -> dict[str, Any]:
    return {
        "time": int(pd.Timestamp(stamp).timestamp()),
        "position": "aboveBar" if long else "belowBar",
        "color": EXIT_COLOR,
        "shape": "circle",
        "text": f"{pnl:+,.0f}",
    }


def _trade_row(trade: Mapping[Hashable, Any]) -> dict[str, str]:
    return {
        "entry_time": _day(trade["entry_time"]),
        "exit_time": _day(trade["exit_time"]),
        "side": "long" if trade["size"] > 0 else "short",
        "size": f"{abs(trade['size']):,.4g}",
        "entry_price": f"{trade['entry_price']:,.2f}",
        "exit_price": f"{trade['exit_price']:,.2f}",
        "pnl": f"{trade['pnl']:+,.2f}",
        "return_pct": f"{100.0 * trade['return_pct']:+.2f}%",
    }


def _day(stamp: Any) -> str:
    return "" if stamp is None or pd.isna(stamp) else pd.Timestamp(stamp).strftime("%Y-%m-%d")
