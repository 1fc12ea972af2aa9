"""What a strategy decides on the latest bar: the engine re-run on the account's bars.

At each closed bar the runner runs ``quanta.engine.Backtest`` on every bar the account has seen and
takes the orders the strategy placed on the last one. The engine's simulated account fills exactly as
the paper broker does (same rules, same costs), so the strategy sees the position and equity it would
see live; and a runner that restarts decides again exactly the same orders with the same ids
(``<account>:<bar start>:<n>``) — restart-safe by construction. An entry's stop-loss and take-profit
travel on its order (the paper broker places them when the entry opens a lot, as the engine does);
a working order the strategy cancels on the last bar (``order.cancel()``, ``order.replace(…)``) comes
back as its record with ``cancel=True`` (the replacement is a new order). Trailing stops, moving or
cancelling a bracket (``trade.sl = …``, ``trade.tp = …``) and target orders are refused with
:class:`UnsupportedOrderError`.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from quanta.engine import Backtest
from quanta.engine.errors import DataError
from quanta.engine.orders import OPEN, Order
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
_MOVED = {"sl moved", "tp moved"}
_NO_SETTERS = "paper trading does not support setting or moving a trade's sl/tp yet (give them to buy/sell)"
_NO_TRAILING = "paper trading does not support trailing stops yet"
_BY_STRATEGY = {"canceled by strategy", "replaced"}


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
    canceled: dict[int, int] = {}  # engine order id -> the bar the strategy cancelled it on
    try:
        run = Backtest(frame(windows, spec.symbols), _guarded(strategy, canceled), **options(spec))
        result = run.run(**params)
    except DataError:
        return []
    rows = result.orders.to_dict()
    last, start = len(windows) - 1, windows[-1].start
    _check_brackets(rows, last)
    ts = start + interval_ms(spec.interval)
    if len(spec.symbols) == 1:  # one frame: the engine names its symbol "asset"
        rows["symbol"] = [spec.symbols[0]] * len(rows["symbol"])
    orders = [
        _order(rows, i, n, account=account, start=start, ts=ts)
        for n, i in enumerate(_placed(rows, last, canceled))
    ]
    index = {order_id: i for i, order_id in enumerate(rows["id"])}
    for i in sorted(index[k] for k, bar in canceled.items() if bar == last):
        bar = rows["placed_bar"][i]
        if rows["kind"][i] in _CONTINGENT:
            raise UnsupportedOrderError(_NO_SETTERS)  # ``order.cancel()`` of a stop-loss or take-profit
        if bar == last:  # placed and cancelled on this bar: never sent
            continue
        n = _placed(rows, bar, canceled).index(i)
        order = _order(rows, i, n, account=account, start=windows[bar].start, ts=ts)
        orders.append(dataclasses.replace(order, cancel=True))
    return orders


def _placed(rows: dict[str, list[Any]], bar: int, canceled: Mapping[int, int]) -> list[int]:
    """The orders the strategy placed on ``bar`` and still had at its end, in the order of their ids:
    closes first (as the engine queues them), then the others as placed."""
    placed = [
        i
        for i, placed_bar in enumerate(rows["placed_bar"])
        if placed_bar == bar and rows["kind"][i] not in _CONTINGENT and canceled.get(rows["id"][i]) != bar
    ]
    return sorted(placed, key=lambda i: (rows["kind"][i] != "close", rows["id"][i]))


def _order(rows: dict[str, list[Any]], i: int, n: int, *, account: str, start: int, ts: int) -> OrderEvent:
    kind = rows["kind"][i]
    if kind not in _KINDS:
        raise UnsupportedOrderError(f"paper trading does not support {kind} orders yet")
    size = float(rows["size"][i])
    return OrderEvent(
        account=account,
        order_id=f"{account}:{start}:{n}",
        symbol=str(rows["symbol"][i]),
        size=size,
        kind=_KINDS[kind],
        limit=_price(rows["limit"][i]),
        stop=_price(rows["stop"][i]),
        stop_loss=_price(rows["sl"][i]),
        take_profit=_price(rows["tp"][i]),
        ts=ts,
        relative=bool(rows["relative"][i]),
        reduce_only=kind == "close",
    )


def _check_brackets(rows: dict[str, list[Any]], last: int) -> None:
    """Refuse brackets the strategy set or moved itself: every stop-loss / take-profit placed on the last
    bar must be one the engine placed for an entry filled on it, at the entry's price."""
    if any(reason in _MOVED for reason in rows["reason"]):
        raise UnsupportedOrderError(_NO_SETTERS)
    expected: Counter[tuple[str, str, float | None]] = Counter()
    for i, bar in enumerate(rows["fill_bar"]):
        if bar == last and rows["kind"][i] in _KINDS and rows["kind"][i] != "close":
            expected.update({("sl", rows["symbol"][i], _price(rows["sl"][i])): 1})
            expected.update({("tp", rows["symbol"][i], _price(rows["tp"][i])): 1})
    for i, bar in enumerate(rows["placed_bar"]):
        kind = rows["kind"][i]
        if bar != last or kind not in _CONTINGENT:
            continue
        key = (kind, rows["symbol"][i], _price(rows["stop"][i] if kind == "sl" else rows["limit"][i]))
        if not expected[key]:
            raise UnsupportedOrderError(_NO_SETTERS)
        expected[key] -= 1


def _guarded(strategy: type[Strategy], canceled: dict[int, int]) -> type[Strategy]:
    """``strategy`` refusing trailing stops where it places them (the error shows the strategy's line)
    and noting in ``canceled`` the bar on which it cancels an order (the order log does not say)."""

    def init(self: Strategy) -> None:
        broker = self._broker
        cancel = broker.cancel

        def noting(order: Order, reason: str) -> None:
            if order.status == OPEN and reason in _BY_STRATEGY:
                canceled[order.id] = broker.i
            cancel(order, reason)

        broker.cancel = noting  # type: ignore[method-assign]
        strategy.init(self)

    def guard(place: Any) -> Any:
        def placing(self: Strategy, **kwargs: Any) -> Any:
            if kwargs.get("trail") is not None or kwargs.get("trail_pct") is not None:
                raise UnsupportedOrderError(_NO_TRAILING)
            return place(self, **kwargs)

        return placing

    names = {"__module__": strategy.__module__, "__qualname__": strategy.__qualname__}
    methods = {"init": init, "buy": guard(strategy.buy), "sell": guard(strategy.sell)}
    return type(strategy.__name__, (strategy,), {**names, **methods})


def _price(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else float(value)
