"""Fast path for vectorised signals on one symbol, sized as a fraction of equity.

Only the account balance is truly sequential (each order's size depends on the equity left by the
previous trade): the bars that trade are found with numpy, then one compiled loop (``fill``) runs
over them and writes the closed trades and the account's states. The arithmetic is the broker's,
operation for operation, so the results equal the event-driven API's bit for bit (tests/engine
check it). Anything else falls back to the broker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from math import copysign
from typing import Any

import numpy as np

from quanta._jit import kernel
from quanta.engine._vector import SignalSet
from quanta.engine.config import BacktestConfig
from quanta.engine.costs import FractionCommission, as_commission
from quanta.engine.market import Market

Held = tuple[float, float, int, float]  # units, entry price, entry bar, entry commission
TRADE_COLUMNS = ("size", "entry_bar", "exit_bar", "entry_price", "exit_price", "commission")
ORDER_COLUMNS = (
    "kind",
    "size",
    "relative",
    "placed_bar",
    "status",
    "fill_bar",
    "fill_price",
    "fill_size",
    "reason",
)


class NeedsBrokerError(Exception):
    """The fast path met a case it does not model (an order rejected for margin)."""


@dataclass(slots=True)
class FastRun:
    """Closed trades (columns), the trade still open, and the account's state changes."""

    trades: dict[str, np.ndarray]
    held: Held | None
    bars: np.ndarray
    balance: np.ndarray
    pos: np.ndarray
    cost: np.ndarray
    actions: tuple[np.ndarray, np.ndarray, np.ndarray]
    pending: bool
    finalized: bool


def applies(config: BacktestConfig, sig: SignalSet, n_symbols: int) -> bool:
    """True when the fast path models the run exactly."""
    return (
        n_symbols == 1
        and config.slippage_model() is None
        and isinstance(as_commission(config.commission), FractionCommission)
        and sig.relative
        and not config.fractional
    )


def plan(sig: SignalSet, start: int, stop: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bars that trade, whether each closes the position, and the side each opens (0 for none)."""
    long_in, long_out, short_in, short_out = (
        _readonly(m[0]) for m in (sig.entries, sig.exits, sig.short_entries, sig.short_exits)
    )
    end = sig.entries.shape[1] if stop is None else stop
    return actions(long_in, long_out, short_in, short_out, start, end)


def _readonly(row: np.ndarray) -> np.ndarray:
    """A contiguous read-only view: the kernel then sees one array type whatever the caller's flags."""
    view = np.ascontiguousarray(row).view()
    view.flags.writeable = False
    return view


@kernel
def actions(  # noqa: PLR0917 - compiled kernels take positional arguments
    long_in: np.ndarray,
    long_out: np.ndarray,
    short_in: np.ndarray,
    short_out: np.ndarray,
    start: int,
    stop: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """At each bar of ``[start, stop)``, what ``next()`` would do: an entry closes any opposite
    position and opens its side unless already there; an exit closes its side. The bars where
    something happens, whether it closes, and the side it opens."""
    k = max(stop - start, 0)
    out_bars, closing, want = (
        np.empty(k, dtype=np.int64),
        np.empty(k, dtype=np.bool_),
        np.empty(k, dtype=np.int64),
    )
    held = m = 0
    for t in range(start, stop):
        w = 1 if long_in[t] and held != 1 else -1 if short_in[t] and held != -1 else 0
        exits = held != 0 and (w != 0 or (long_out[t] and held == 1) or (short_out[t] and held == -1))
        if exits or w:
            out_bars[m], closing[m], want[m] = t, exits, w
            m += 1
            held = w
    return out_bars[:m], closing[:m], want[:m]


def run(
    market: Market, config: BacktestConfig, sig: SignalSet, start: int, *, stop: int | None, finalize: bool
) -> FastRun:
    """Simulate ``sig``; with ``stop``, only the trades before that wipe-out bar, then liquidate.

    With ``finalize``, close what is open on the last bar (``finalize_trades``).
    """
    n = market.n_bars
    t, closing, want = plan(sig, start, stop)
    pending = bool(t.shape[0]) and int(t[-1]) + 1 >= n
    body = t.shape[0] - pending
    acct = _Account(market, config, sig.size)
    acct.trade(t[:body], closing[:body], want[:body])
    finalized = stop is None and finalize and start < n
    if finalized:
        acct.finalize(n - 1, int(want[-1]) if pending else 0)
    if stop is not None:
        acct.liquidate(stop)
    return FastRun(acct.columns(), acct.held, *acct.states(), (t, closing, want), pending, finalized)


class _Account:
    """A one-symbol account holding at most one trade, with a proportional commission."""

    def __init__(self, market: Market, config: BacktestConfig, size: float) -> None:
        commission = as_commission(config.commission)
        assert isinstance(commission, FractionCommission)
        self.rate = commission.rate
        self.spread = config.spread
        self.lev = 1 / config.margin
        self.frac = size
        self.toc = config.trade_on_close
        self.prices = _readonly(market.close[0] if self.toc else market.open[0])
        self.close_prices = market.close[0]
        self.balance = float(config.cash)
        self.held: Held | None = None
        self.parts: list[dict[str, np.ndarray]] = []
        self.tail: list[tuple[float, int, int, float, float, float]] = []
        self.state_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def trade(self, t: np.ndarray, closing: np.ndarray, want: np.ndarray) -> None:
        """Fill each action on the bar after its signal (on its bar with ``trade_on_close``)."""
        trades, states, held, balance, ok = fill(
            closing,
            want,
            t,
            self.prices,
            0 if self.toc else 1,
            self.frac,
            self.spread,
            self.rate,
            self.lev,
            self.balance,
        )
        if not ok:
            raise NeedsBrokerError
        self.balance = balance
        self.parts.append(dict(zip(TRADE_COLUMNS, trades, strict=True)))
        is_open, u, d, bar = held
        if is_open:
            self.held = (u, d, bar, abs(u) * d * self.rate)
        self.state_parts.append(states)

    def close(self, price: float, t_idx: int) -> None:
        """Close the open trade at ``price``."""
        assert self.held is not None
        u, e, bar, entry_commission = self.held
        exit_commission = abs(u) * price * self.rate
        self.balance += u * (price - e) - exit_commission
        self.tail.append((u, bar, t_idx, e, price, exit_commission + entry_commission))
        self.held = None

    def enter(self, want: int, price: float, t_idx: int) -> None:
        """Open a fraction-of-margin trade at ``price``."""
        size = want * self.frac
        avail = max(0.0, self.balance)
        adj = price * (1 + copysign(self.spread, size))
        appc = adj + (abs(size) * price * self.rate) / abs(size)
        u = copysign(float(int(avail * self.lev * abs(size) // appc)), size)
        if not u or abs(u) * appc > avail * self.lev:
            raise NeedsBrokerError
        commission = abs(u) * adj * self.rate
        self.balance -= commission
        self.held = (u, adj, t_idx, commission)

    def finalize(self, last: int, want: int) -> None:
        """backtesting.py's ``finalize_trades``: close on the last bar, then fill the last bar's order."""
        t_idx = last - 1 if self.toc else last
        price = float(self.prices[t_idx])
        if self.held is not None:
            self.close(price, t_idx)
        if want:
            self.enter(want, price, t_idx)
        self._snapshot(last)
        held = self.held
        if held is not None or self.balance <= 0:  # the broker's solvency check on the last bar
            upl = (
                0.0 if held is None else 0.0 + (float(self.close_prices[last]) * held[0] - held[0] * held[1])
            )
            if self.balance + upl <= 0:
                self.liquidate(last)

    def liquidate(self, bar: int) -> None:
        """Equity fell to <= 0 at ``bar``: close at its close and zero the account."""
        if self.held is not None:
            self.close(float(self.close_prices[bar]), bar)
        self.balance = 0.0
        self._snapshot(bar)

    def _snapshot(self, bar: int) -> None:
        held = self.held
        pos, cost = (0.0, 0.0) if held is None else (held[0] + 0.0, held[0] * held[1] + 0.0)
        self.state_parts.append(
            (np.array([bar]), np.array([self.balance]), np.array([pos]), np.array([cost]))
        )

    def columns(self) -> dict[str, np.ndarray]:
        """Closed trades as ``TradeLog`` columns."""
        parts = list(self.parts)
        if self.tail:
            parts.append(
                {
                    name: np.array(col)
                    for name, col in zip(TRADE_COLUMNS, zip(*self.tail, strict=True), strict=True)
                }
            )
        if len(parts) == 1:
            return parts[0]
        return {name: np.concatenate([p[name] for p in parts]) for name in TRADE_COLUMNS}

    def states(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """State-change bars, balances, positions and cost bases (later entries win on a shared bar)."""
        parts = self.state_parts
        if len(parts) == 1:
            return parts[0]
        cols = [np.concatenate([p[i] for p in parts]) for i in range(4)]
        return cols[0], cols[1], cols[2], cols[3]


def orders(run: FastRun, size: float, n: int) -> list[tuple[Any, ...]]:
    """The order rows the broker would have logged for ``run``, in placement order."""
    nan = float("nan")
    trades = run.trades
    closed = list(zip(*(trades[c].tolist() for c in TRADE_COLUMNS), strict=True))
    exits = iter(closed)
    opened = [(c[0], c[1], c[3]) for c in closed]
    if run.held is not None:
        opened.append((run.held[0], run.held[2], run.held[1]))
    entries = iter(opened)
    rows: list[tuple[Any, ...]] = []
    held = 0.0
    t_all, closing_all, want_all = (a.tolist() for a in run.actions)
    last = len(t_all) - 1
    for j, (t, closing, want) in enumerate(zip(t_all, closing_all, want_all, strict=True)):
        if run.pending and j == last:
            if closing:
                status, reason = ("canceled", "trade already closed") if run.finalized else ("open", "")
                rows.append(("close", -held, False, t, status, -1, nan, nan, reason))
            if want:
                rows.append(_entry_row(want * size, t, next(entries) if run.finalized else None))
            continue
        if closing:
            c = next(exits)
            rows.append(("close", -c[0], False, t, "filled", c[2], c[4], -c[0], ""))
            held = 0.0
        if want:
            trade = next(entries)
            rows.append(_entry_row(want * size, t, trade))
            held = trade[0]
    if run.finalized and held:
        c = next(exits)
        rows.append(("close", -c[0], False, n - 1, "filled", c[2], c[4], -c[0], ""))
    return rows


def _entry_row(size: float, t: int, trade: tuple[Any, ...] | None) -> tuple[Any, ...]:
    nan = float("nan")
    if trade is None:
        return ("market", size, True, t, "open", -1, nan, nan, "")
    return ("market", size, True, t, "filled", trade[1], trade[2], trade[0], "")


@kernel(python_errors=True)
def fill(  # noqa: PLR0917 - the account's whole state, passed to compiled code
    closing: np.ndarray,
    want: np.ndarray,
    signal_bar: np.ndarray,
    prices: np.ndarray,
    lag: int,
    frac: float,
    spread: float,
    rate: float,
    lev: float,
    balance: float,
) -> tuple[
    tuple[np.ndarray, ...],
    tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    tuple[bool, float, float, int],
    float,
    bool,
]:
    """The fast path's one sequential loop: each action fills at ``prices`` ``lag`` bars after its
    signal bar; it closes, then opens ``frac`` of the margin available.

    Returns the closed trades (``TRADE_COLUMNS``); the account's state after each action, in force
    from the bar after its signal (bar, balance, units held, cost basis); the trade still open
    (whether there is one, its units, entry price with spread and entry bar); the final balance;
    and False if an entry would be refused for margin (the broker then takes over).
    """
    k = want.shape[0]
    bars, balances, pos, cost = np.empty(k, dtype=np.int64), np.empty(k), np.empty(k), np.empty(k)
    size_c, entry_bar, exit_bar = np.empty(k), np.empty(k, dtype=np.int64), np.empty(k, dtype=np.int64)
    entry_price, exit_price, commission = np.empty(k), np.empty(k), np.empty(k)
    closed, open_bar, ok = 0, -1, True
    bal, u, e = balance, 0.0, 0.0
    for j in range(k):
        b = signal_bar[j] + lag
        w, p = want[j], prices[b]
        size = w * frac
        d = p * (1 + math.copysign(spread, size))
        if closing[j]:
            bal += u * (p - e) - abs(u) * p * rate
            fsz = abs(u)
            size_c[closed], entry_bar[closed], exit_bar[closed] = u, open_bar, b
            entry_price[closed], exit_price[closed] = e, p
            commission[closed] = fsz * p * rate + fsz * e * rate
            closed += 1
            u, open_bar = 0.0, -1
        if w:
            fs = abs(size)
            a = d + (fs * p * rate) / fs
            avail = bal if bal > 0.0 else 0.0  # max(0.0, bal), without the call
            u = math.copysign(avail * lev * fs // a, w)  # floor of a non-negative float: whole units
            if u == 0.0 or abs(u) * a > avail * lev:
                ok = False
                break
            e = d
            bal -= abs(u) * d * rate
            open_bar = b
        bars[j], balances[j], pos[j], cost[j] = signal_bar[j] + 1, bal, u + 0.0, u * d + 0.0
    trades = (
        size_c[:closed],
        entry_bar[:closed],
        exit_bar[:closed],
        entry_price[:closed],
        exit_price[:closed],
        commission[:closed],
    )
    return trades, (bars, balances, pos, cost), (open_bar >= 0, u, e, open_bar), bal, ok
