"""Trade and order logs of a run, assembled from the broker's records or from the fast path's columns."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from quanta._jit import kernel
from quanta.engine import _fast
from quanta.engine.market import Market
from quanta.engine.orders import Order, Trade
from quanta.engine.result import OrderLog, TradeLog


def fast_order_log(rows: list[tuple[Any, ...]], symbol: str) -> OrderLog:
    """The fast path's order rows (``_fast.ORDER_COLUMNS``) as an ``OrderLog``."""
    cols = (
        dict(zip(_fast.ORDER_COLUMNS, zip(*rows, strict=True), strict=True))
        if rows
        else dict.fromkeys(_fast.ORDER_COLUMNS, ())
    )
    k = len(rows)
    nan = [np.nan] * k
    return OrderLog.from_rows(
        {
            **cols,
            "id": range(k),
            "symbol": [symbol] * k,
            "limit": nan,
            "stop": nan,
            "sl": nan,
            "tp": nan,
            "tag": [None] * k,
        }
    )


def trade_log(trades: list[Trade], symbols: tuple[str, ...]) -> TradeLog:
    """The broker's closed trades as a ``TradeLog``."""
    cols: dict[str, list[Any]] = {
        "size": [t.size for t in trades],
        "entry_bar": [t.entry_bar for t in trades],
        "exit_bar": [t.exit_bar for t in trades],
        "entry_price": [t.entry_price for t in trades],
        "exit_price": [t.exit_price for t in trades],
        "commission": [t.commission for t in trades],
    }
    log = closed_log(cols, "", symbols=[symbols[t.sym] for t in trades], tags=[t.tag for t in trades])
    sl = [np.nan if t.sl is None else t.sl for t in trades]
    tp = [np.nan if t.tp is None else t.tp for t in trades]
    return TradeLog(**{**_fields(log), "sl": np.asarray(sl, dtype=float), "tp": np.asarray(tp, dtype=float)})


def _fields(log: TradeLog) -> dict[str, Any]:
    return {name: getattr(log, name) for name in TradeLog._dtypes}


class TradeFigures(NamedTuple):
    """The columns of the closed trades that the statistics read."""

    entry_bar: np.ndarray
    exit_bar: np.ndarray
    pnl: np.ndarray
    return_pct: np.ndarray
    commission: np.ndarray

    @classmethod
    def of(cls, cols: Mapping[str, np.ndarray]) -> TradeFigures:
        """From the fast path's columns (``_fast.TRADE_COLUMNS``)."""
        commission = cols["commission"]
        pnl, return_pct = outcomes(cols["size"], cols["entry_price"], cols["exit_price"], commission)
        return cls(cols["entry_bar"], cols["exit_bar"], pnl, return_pct, commission)

    @classmethod
    def from_log(cls, log: TradeLog) -> TradeFigures:
        """From a trade log."""
        return cls(log.entry_bar, log.exit_bar, log.pnl, log.return_pct, log.commission)


def closed_log(
    cols: Mapping[str, Any],
    symbol: str,
    *,
    symbols: list[str] | None = None,
    tags: list[Any] | None = None,
) -> TradeLog:
    """Closed trades from columns; P&L and return are computed as backtesting.py computes them."""
    size = np.asarray(cols["size"], dtype=float)
    entry = np.asarray(cols["entry_price"], dtype=float)
    exit_ = np.asarray(cols["exit_price"], dtype=float)
    commission = np.asarray(cols["commission"], dtype=float)
    k = size.shape[0]
    pnl, return_pct = outcomes(size, entry, exit_, commission) if k else (_nans(0), _nans(0))
    return TradeLog(
        symbol=np.full(k, symbol) if symbols is None and k else np.asarray(symbols or [], dtype=str),
        size=size,
        entry_bar=np.asarray(cols["entry_bar"], dtype=np.int64),
        exit_bar=np.asarray(cols["exit_bar"], dtype=np.int64),
        entry_price=entry,
        exit_price=exit_,
        sl=_nans(k),
        tp=_nans(k),
        pnl=pnl,
        return_pct=return_pct,
        commission=commission,
        tag=tuple(tags) if tags is not None else (None,) * k,
    )


@kernel
def outcomes(
    size: np.ndarray, entry: np.ndarray, exit_: np.ndarray, commission: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each trade's P&L, ``size (exit - entry) - commission``, and return, ``sign(size) (exit /
    entry - 1) - commission / (|size| entry)`` (backtesting.py's formulas)."""
    k = size.shape[0]
    pnl, returns = np.empty(k), np.empty(k)
    for i in range(k):
        pnl[i] = size[i] * (exit_[i] - entry[i]) - commission[i]
        returns[i] = math.copysign(1.0, size[i]) * (exit_[i] / entry[i] - 1) - commission[i] / (
            abs(size[i]) * entry[i]
        )
    return pnl, returns


def _nans(k: int) -> np.ndarray:
    out = np.empty(k)
    out.fill(np.nan)
    return out


_EMPTY_TRADES = closed_log(
    dict.fromkeys(("size", "entry_bar", "exit_bar", "entry_price", "exit_price", "commission"), ()), ""
)


def open_log(rows: list[tuple[str, float, float, int, float]], market: Market) -> TradeLog:
    """Trades still open at the end, marked at the last close (exit commission not charged)."""
    if not rows:
        return _EMPTY_TRADES
    last = market.n_bars - 1
    row_of = {s: k for k, s in enumerate(market.symbols)}
    cols: dict[str, list[Any]] = {
        "size": [r[1] for r in rows],
        "entry_price": [r[2] for r in rows],
        "entry_bar": [r[3] for r in rows],
        "exit_bar": [last] * len(rows),
        "exit_price": [float(market.close[row_of[r[0]], last]) for r in rows],
        "commission": [r[4] for r in rows],
    }
    if len(market.symbols) == 1:
        return closed_log(cols, market.symbols[0])
    return closed_log(cols, "", symbols=[r[0] for r in rows])


def _nan(x: float | None) -> float:
    return np.nan if x is None else x


def order_log(orders: list[Order]) -> OrderLog:
    """Every order the broker saw, as placed, with its outcome."""
    return OrderLog.from_rows(
        {
            "id": [o.id for o in orders],
            "symbol": [o.symbol for o in orders],
            "kind": [o.kind for o in orders],
            "size": [o.placed_size for o in orders],
            "relative": [o.relative for o in orders],
            "limit": [_nan(o.limit) for o in orders],
            "stop": [_nan(o.placed_stop) for o in orders],
            "sl": [_nan(o.sl) for o in orders],
            "tp": [_nan(o.tp) for o in orders],
            "placed_bar": [o.placed_bar for o in orders],
            "status": [o.status for o in orders],
            "fill_bar": [-1 if o.fill_bar is None else o.fill_bar for o in orders],
            "fill_price": [_nan(o.fill_price) for o in orders],
            "fill_size": [_nan(o.fill_size) for o in orders],
            "reason": [o.reason for o in orders],
            "tag": [o.tag for o in orders],
        }
    )
