"""View models of saved runs for the results pages: lists, statistics, charts and trade markers.

The web app shows these; it never reads the run store's tables itself.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
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
