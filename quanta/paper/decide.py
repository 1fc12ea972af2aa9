"""What a strategy decides on the latest bar: the engine re-run on the account's bars.

At each closed bar the runner runs ``quanta.engine.Backtest`` on every bar the account has seen and
takes the orders the strategy placed on the last one. The engine's simulated account fills exactly as
the paper broker does (same rules, same costs), so the strategy sees the position and equity it would
see live; and a runner that restarts decides again exactly the same orders with the same ids
(``<account>:<bar start>:<n>``) — restart-safe by construction. Bracket orders (stop-loss, take-profit,
trailing stops) and target orders are refused: the paper broker does not keep brackets yet.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from quanta.engine import Backtest
from quanta.engine.errors import DataError
from quanta.paper.events import OrderEvent, OrderKind
from quanta.paper.models import PaperSpec
from quanta.strategy import Strategy
from quanta.streaming.events import interval_ms

_KINDS = {
    "market": OrderKind.MARKET,
    "close": OrderKind.MARKET,
    "limit": OrderKind.LIMIT,
    "stop": OrderKind.STOP,
    "stop_limit": OrderKind.STOP_LIMIT,
}
_CONTINGENT = {"sl", "tp"}
_NO_BRACKETS = "paper trading does not support stop-loss, take-profit or trailing-stop brackets yet"


class UnsupportedOrderError(ValueError):
    """The strategy placed an order paper trading cannot carry (brackets, targets)."""


@dataclass(frozen=True, slots=True)
class Window:
    """One bar window of every symbol of an account: ``bars[symbol] = (open, high, low, close, volume)``."""

    start: int
    bars: Mapping[str, tuple[float, float, float, float, float]]


def options(spec: PaperSpec) -> dict[str, Any]:
    """The engine options of an account."""
    costs = spec.costs
    return {
        "cash": spec.capital,
        "commission": costs.commission,
        "spread": costs.spread,
        "slippage": costs.slippage,
        "fractional": spec.fractional,
    }


def frame(windows: Sequence[Window], symbols: Sequence[str]) -> pd.DataFrame | dict[str, pd.DataFrame]:
    """The windows as the engine's data: one frame, or one per symbol on one index."""
    index = pd.to_datetime([w.start for w in windows], unit="ms")
    index.name = "ts"
    frames = {
        s: pd.DataFrame(
            [w.bars[s] for w in windows], index=index, columns=["open", "high", "low", "close", "volume"]
        )
        for s in symbols
    }
    return frames[symbols[0]] if len(symbols) == 1 else frames


def decide(
    strategy: type[Strategy],
    params: Mapping[str, Any],
    windows: Sequence[Window],
    *,
    spec: PaperSpec,
    account: str,
) -> list[OrderEvent]:
    """The orders ``strategy`` places at the close of the last window, with deterministic ids."""
    if len(windows) < 2:
        return []
    try:
        result = Backtest(frame(windows, spec.symbols), strategy, **options(spec)).run(**params)
    except DataError:
        return []
    rows = result.orders.to_dict()
    last, start = len(windows) - 1, windows[-1].start
    if any(b == last and k in _CONTINGENT for b, k in zip(rows["placed_bar"], rows["kind"], strict=True)):
        raise UnsupportedOrderError(_NO_BRACKETS)  # a trailing stop, or ``trade.sl = …``, made one
    placed = [i for i, bar in enumerate(rows["placed_bar"]) if bar == last and rows["status"][i] == "open"]
    placed.sort(key=lambda i: (rows["kind"][i] != "close", rows["id"][i]))  # closes go first, as queued
    ts = start + interval_ms(spec.interval)
    if len(spec.symbols) == 1:  # one frame: the engine names its symbol "asset"
        rows["symbol"] = [spec.symbols[0]] * len(rows["symbol"])
    return [_order(rows, i, n, account=account, start=start, ts=ts) for n, i in enumerate(placed)]


def _order(rows: dict[str, list[Any]], i: int, n: int, *, account: str, start: int, ts: int) -> OrderEvent:
    kind = rows["kind"][i]
    if kind not in _KINDS:
        raise UnsupportedOrderError(f"paper trading does not support {kind} orders yet")
    if rows["sl"][i] is not None or rows["tp"][i] is not None:
        raise UnsupportedOrderError(_NO_BRACKETS)
    size = float(rows["size"][i])
    return OrderEvent(
        account=account,
        order_id=f"{account}:{start}:{n}",
        symbol=str(rows["symbol"][i]),
        size=size,
        kind=_KINDS[kind],
        limit=_price(rows["limit"][i]),
        stop=_price(rows["stop"][i]),
        ts=ts,
        relative=bool(rows["relative"][i]),
        reduce_only=kind == "close",
    )


def _price(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else float(value)
