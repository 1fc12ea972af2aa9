"""What a backtest returns: statistics, equity curve, trade list, order log and receipt.

Everything converts to plain JSON (``to_dict``/``to_json``) and back losslessly, and to Arrow
tables, so a run can happen in a worker process and come back.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from quanta.engine.market import pandas_index
from quanta.receipt import Receipt
from quanta.stats import Stats, drawdown


@dataclass(frozen=True, slots=True, eq=False)
class _Columns:
    """A table stored as equal-length numpy columns (plus a ``tag`` tuple of arbitrary values)."""

    _dtypes: ClassVar[dict[str, str]] = {}

    def __len__(self) -> int:
        return len(getattr(self, fields(self)[0].name))

    @classmethod
    def from_rows(cls, rows: Mapping[str, Sequence[Any]]) -> Self:
        """Build from column lists."""
        cols: dict[str, Any] = {}
        for name, dt in cls._dtypes.items():
            values = rows[name]
            cols[name] = tuple(values) if dt == "object" else np.asarray(values, dtype=dt)
        return cls(**cols)

    def to_dict(self) -> dict[str, list[Any]]:
        """Columns as JSON-able lists (NaN as None, tags as JSON values or their repr)."""
        out: dict[str, list[Any]] = {}
        for name, dt in self._dtypes.items():
            col = getattr(self, name)
            if dt == "object":
                out[name] = [_json_value(v) for v in col]
            elif dt == "float64":
                out[name] = [None if math.isnan(v) else v for v in col.tolist()]
            else:
                out[name] = col.tolist()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, list[Any]]) -> Self:
        """Inverse of ``to_dict``."""
        cols: dict[str, Any] = {}
        for name, dt in cls._dtypes.items():
            values = data[name]
            if dt == "float64":
                values = [np.nan if v is None else v for v in values]
            cols[name] = values
        return cls.from_rows(cols)

    def to_pandas(self) -> pd.DataFrame:
        """As a DataFrame."""
        return pd.DataFrame(
            {
                name: list(getattr(self, name)) if dt == "object" else getattr(self, name)
                for name, dt in self._dtypes.items()
            }
        )


def _json_value(v: Any) -> Any:
    if v is None or isinstance(v, bool | int | str):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else repr(v)
    return repr(v)


@dataclass(frozen=True, slots=True, eq=False)
class TradeLog(_Columns):
    """Trades as columns: bars are indices into the run's index, ``pnl`` is net of commissions."""

    symbol: np.ndarray
    size: np.ndarray
    entry_bar: np.ndarray
    exit_bar: np.ndarray
    entry_price: np.ndarray
    exit_price: np.ndarray
    sl: np.ndarray
    tp: np.ndarray
    pnl: np.ndarray
    return_pct: np.ndarray
    commission: np.ndarray
    tag: tuple[Any, ...]

    _dtypes: ClassVar[dict[str, str]] = {
        "symbol": "str",
        "size": "float64",
        "entry_bar": "int64",
        "exit_bar": "int64",
        "entry_price": "float64",
        "exit_price": "float64",
        "sl": "float64",
        "tp": "float64",
        "pnl": "float64",
        "return_pct": "float64",
        "commission": "float64",
        "tag": "object",
    }


@dataclass(frozen=True, slots=True, eq=False)
class OrderLog(_Columns):
    """Every order placed, with its outcome (filled, canceled, rejected or still open) and why."""

    id: np.ndarray
    symbol: np.ndarray
    kind: np.ndarray
    size: np.ndarray
    relative: np.ndarray
    limit: np.ndarray
    stop: np.ndarray
    sl: np.ndarray
    tp: np.ndarray
    placed_bar: np.ndarray
    status: np.ndarray
    fill_bar: np.ndarray
    fill_price: np.ndarray
    fill_size: np.ndarray
    reason: np.ndarray
    tag: tuple[Any, ...]

    _dtypes: ClassVar[dict[str, str]] = {
        "id": "int64",
        "symbol": "str",
        "kind": "str",
        "size": "float64",
        "relative": "bool",
        "limit": "float64",
        "stop": "float64",
        "sl": "float64",
        "tp": "float64",
        "placed_bar": "int64",
        "status": "str",
        "fill_bar": "int64",
        "fill_price": "float64",
        "fill_size": "float64",
        "reason": "str",
        "tag": "object",
    }


def _encode_stat(v: Any) -> Any:
    if isinstance(v, pd.Timestamp):
        return {"$timestamp": v.isoformat()}
    if isinstance(v, pd.Timedelta):
        return {"$timedelta": int(v.value)}
    if v is pd.NaT:
        return {"$timedelta": None}
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return {"$float": repr(v)}
    return v


def _decode_stat(v: Any) -> Any:
    if not isinstance(v, dict):
        return v
    if "$timestamp" in v:
        return pd.Timestamp(v["$timestamp"])
    if "$timedelta" in v:
        return pd.NaT if v["$timedelta"] is None else pd.Timedelta(v["$timedelta"])
    return float(v["$float"])


def _floats(values: np.ndarray) -> list[Any]:
    return [None if math.isnan(x) else x for x in values.tolist()]


@dataclass(frozen=True, slots=True, eq=False)
class Result:
    """The outcome of ``Backtest.run``. ``stats`` uses backtesting.py's statistic names.

    ``equity``, ``cash`` and ``drawdown`` have one value per bar; ``positions`` one row per symbol.
    ``trades`` are closed trades (those the statistics use); ``open_trades`` were still open at the
    end, marked at the last close.
    """

    strategy: str
    params: dict[str, Any]
    symbols: tuple[str, ...]
    index: np.ndarray
    is_datetime: bool
    tz: str | None
    equity: np.ndarray
    account_source: tuple[np.ndarray, np.ndarray] | Callable[[], tuple[np.ndarray, np.ndarray]]
    drawdown: np.ndarray
    stats: Stats
    trades: TradeLog
    open_trades: TradeLog
    order_source: OrderLog | Callable[[], OrderLog]
    receipt: Receipt
    warmup_bars: int

    def _account(self) -> tuple[np.ndarray, np.ndarray]:
        source = self.account_source
        if callable(source):
            source = source()
            object.__setattr__(self, "account_source", source)
        return source

    @property
    def cash(self) -> np.ndarray:
        """Cash per bar: balance minus open trades' entry value (equity = cash + positions × price)."""
        return self._account()[0]

    @property
    def positions(self) -> np.ndarray:
        """Units held per symbol (rows) and bar (columns)."""
        return self._account()[1]

    @property
    def orders(self) -> OrderLog:
        """Every order placed and what became of it (built on first access)."""
        source = self.order_source
        if not isinstance(source, OrderLog):
            source = source()
            object.__setattr__(self, "order_source", source)
        return source

    def pandas_index(self) -> pd.Index:
        """The bar index as pandas shows it."""
        return pandas_index(self.index, is_datetime=self.is_datetime, tz=self.tz)

    def equity_curve(self) -> pd.DataFrame:
        """Equity, drawdown fraction and drawdown duration (at each drawdown's last bar) per bar."""
        dd = drawdown(self.equity, self.index)
        duration: list[Any] = [np.nan] * len(self.equity)
        for end, value in zip(dd.ends.tolist(), dd.durations.tolist(), strict=True):
            duration[end] = pd.Timedelta(int(value)) if self.is_datetime else value
        frame = {"Equity": self.equity, "DrawdownPct": dd.pct, "DrawdownDuration": duration}
        return pd.DataFrame(frame, index=self.pandas_index())

    def trades_frame(self) -> pd.DataFrame:
        """Closed trades with backtesting.py's column names (plus ``Symbol``)."""
        t = self.trades
        index = self.pandas_index()
        entry, exit_ = index[t.entry_bar], index[t.exit_bar]
        return pd.DataFrame(
            {
                "Symbol": t.symbol,
                "Size": t.size,
                "EntryBar": t.entry_bar,
                "ExitBar": t.exit_bar,
                "EntryPrice": t.entry_price,
                "ExitPrice": t.exit_price,
                "SL": t.sl,
                "TP": t.tp,
                "PnL": t.pnl,
                "Commission": t.commission,
                "ReturnPct": t.return_pct,
                "EntryTime": entry,
                "ExitTime": exit_,
                "Duration": exit_ - entry,
                "Tag": list(t.tag),
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict; ``Result.from_dict`` restores an equal result."""
        return {
            "strategy": self.strategy,
            "params": self.params,
            "symbols": list(self.symbols),
            "index": self.index.tolist(),
            "is_datetime": self.is_datetime,
            "tz": self.tz,
            "equity": _floats(self.equity),
            "cash": _floats(self.cash),
            "positions": [_floats(row) for row in self.positions],
            "stats": {k: _encode_stat(v) for k, v in self.stats.items()},
            "trades": self.trades.to_dict(),
            "open_trades": self.open_trades.to_dict(),
            "orders": self.orders.to_dict(),
            "receipt": self.receipt.to_dict(),
            "warmup_bars": self.warmup_bars,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        """Inverse of ``to_dict``."""
        index = np.asarray(data["index"], dtype=np.int64 if data["is_datetime"] else None)
        equity = np.asarray([np.nan if v is None else v for v in data["equity"]], dtype=float)
        return cls(
            strategy=data["strategy"],
            params=dict(data["params"]),
            symbols=tuple(data["symbols"]),
            index=index,
            is_datetime=bool(data["is_datetime"]),
            tz=data["tz"],
            equity=equity,
            account_source=(
                np.asarray([np.nan if v is None else v for v in data["cash"]], dtype=float),
                np.asarray(
                    [[np.nan if v is None else v for v in row] for row in data["positions"]], dtype=float
                ).reshape(len(data["symbols"]), len(index)),
            ),
            drawdown=drawdown(equity, index).pct,
            stats=Stats((k, _decode_stat(v)) for k, v in data["stats"].items()),
            trades=TradeLog.from_dict(data["trades"]),
            open_trades=TradeLog.from_dict(data["open_trades"]),
            order_source=OrderLog.from_dict(data["orders"]),
            receipt=Receipt.from_dict(data["receipt"]),
            warmup_bars=int(data["warmup_bars"]),
        )

    def to_json(self) -> str:
        """Strict JSON text (no NaN literals)."""
        return json.dumps(self.to_dict(), allow_nan=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Result:
        """Inverse of ``to_json``."""
        return cls.from_dict(json.loads(text))

    def to_arrow(self) -> dict[str, Any]:
        """``{"equity", "trades", "orders"}`` as ``pyarrow.Table``s (tags as their repr)."""
        import pyarrow as pa  # noqa: PLC0415 - optional, heavy import

        bars = {"index": self.index, "equity": self.equity, "cash": self.cash, "drawdown": self.drawdown}
        bars |= {f"position[{s}]": row for s, row in zip(self.symbols, self.positions, strict=True)}
        tables = {"equity": pa.table(bars)}
        for name, log in (("trades", self.trades), ("orders", self.orders)):
            cols = {k: (list(map(repr, v)) if k == "tag" else v) for k, v in _column_items(log)}
            tables[name] = pa.table(cols)
        return tables

    def digest(self) -> str:
        """sha256 over equity, cash, positions and every trade/order column: equal means bit-identical."""
        h = hashlib.sha256()
        for arr in (self.equity, self.cash, self.positions):
            h.update(np.ascontiguousarray(arr).tobytes())
        for log in (self.trades, self.open_trades, self.orders):
            h.update(json.dumps(log.to_dict(), sort_keys=True).encode())
        return h.hexdigest()


def _column_items(log: _Columns) -> list[tuple[str, Any]]:
    return [(name, getattr(log, name)) for name in log._dtypes]
