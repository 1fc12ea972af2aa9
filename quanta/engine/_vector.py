"""Vectorised simulation: act only on bars where a signal or target is set, never per bar.

Signals on one symbol usually take the fast path in ``_fast``. Everything else (several symbols,
target weights, other cost models) drives the same ``Broker`` as ``next()`` does, but only at
event bars. The equity curve is then computed by a compiled loop from the account's state
changes; a wipe-out (equity <= 0) is found afterwards and the run is replayed up to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from quanta._jit import kernel
from quanta.engine.broker import Broker, Snapshot


@dataclass(frozen=True, slots=True)
class SignalSet:
    """Validated ``(n_symbols, n_bars)`` boolean signal matrices."""

    entries: np.ndarray
    exits: np.ndarray
    short_entries: np.ndarray
    short_exits: np.ndarray
    size: float
    relative: bool
    has_exits: bool

    def events(self, start: int) -> np.ndarray:
        """Bars (>= start) where any signal is set."""
        mask = self.entries | self.short_entries
        if self.has_exits:
            mask |= self.exits | self.short_exits
        mask = mask[0] if mask.shape[0] == 1 else mask.any(axis=0)
        bars: np.ndarray = mask[start:].nonzero()[0] + start
        return bars


@dataclass(frozen=True, slots=True, eq=False)
class Ledger:
    """The account's state changes: from ``bars[j]`` on, ``balance[j]`` and per symbol ``pos[j]``
    units with cost basis ``cost[j]`` (sum of size × entry price); all cash before the first."""

    bars: np.ndarray
    balance: np.ndarray
    pos: np.ndarray
    cost: np.ndarray
    cash: float
    close: np.ndarray

    def _lengths(self) -> np.ndarray:
        """How many bars each state (the initial one first) lasts."""
        bars = self.bars
        lengths = np.empty(bars.shape[0] + 1, dtype=np.int64)
        if bars.shape[0]:
            lengths[0] = bars[0]
            np.subtract(bars[1:], bars[:-1], out=lengths[1:-1])
            lengths[-1] = self.close.shape[1] - bars[-1]
        else:
            lengths[0] = self.close.shape[1]
        return lengths

    def _per_bar(self, values: np.ndarray, first: float, lengths: np.ndarray) -> np.ndarray:
        column = np.empty(values.shape[0] + 1)
        column[0] = first
        column[1:] = values
        out: np.ndarray = column.repeat(lengths)
        return out

    def equity(self) -> np.ndarray:
        """Balance plus open positions marked at each close (the broker's formula, elementwise)."""
        k = self.close.shape[0]
        return equity_curve(
            self.bars, self.balance, self.pos.reshape(-1, k), self.cost.reshape(-1, k), self.cash, self.close
        )

    def account(self) -> tuple[np.ndarray, np.ndarray]:
        """Cash (balance minus cost basis) and positions ``(n_symbols, n_bars)`` per bar."""
        k = self.close.shape[0]
        lengths = self._lengths()
        pos, cost = self.pos.reshape(-1, k), self.cost.reshape(-1, k)
        held = np.stack([self._per_bar(pos[:, s], 0.0, lengths) for s in range(k)])
        basis = np.stack([self._per_bar(cost[:, s], 0.0, lengths) for s in range(k)])
        return self._per_bar(self.balance, self.cash, lengths) - basis.sum(axis=0), held


@kernel
def equity_curve(  # noqa: PLR0917 - compiled kernels take positional arguments
    bars: np.ndarray, balance: np.ndarray, pos: np.ndarray, cost: np.ndarray, cash: float, close: np.ndarray
) -> np.ndarray:
    """Per bar: the balance of the state in force plus, summed over symbols in order,
    ``close × units - cost basis``. State ``j`` holds from ``bars[j]`` (a later state on the same
    bar wins); all cash, no position before the first."""
    k, n = close.shape
    out = np.empty(n)
    j, m = -1, bars.shape[0]
    for t in range(n):
        while j + 1 < m and bars[j + 1] <= t:
            j += 1
        if j < 0:
            upl = close[0, t] * 0.0 - 0.0
            for s in range(1, k):
                upl = upl + (close[s, t] * 0.0 - 0.0)
            out[t] = cash + upl
        else:
            upl = close[0, t] * pos[j, 0] - cost[j, 0]
            for s in range(1, k):
                upl = upl + (close[s, t] * pos[j, s] - cost[j, s])
            out[t] = balance[j] + upl
    return out


def ledger_of(snapshots: list[Snapshot], cash: float, close: np.ndarray) -> Ledger:
    """The broker's snapshots as a ``Ledger``."""
    m, k = len(snapshots), close.shape[0]
    bars = np.fromiter((s[0] for s in snapshots), dtype=np.int64, count=m)
    balance = np.fromiter((s[1] for s in snapshots), dtype=float, count=m)
    pos = np.array([s[2] for s in snapshots], dtype=float).reshape(m, k)
    cost = np.array([s[3] for s in snapshots], dtype=float).reshape(m, k)
    return Ledger(bars, balance, pos, cost, cash, close)


def first_wipeout(equity: np.ndarray, start: int) -> int | None:
    """First bar at or after ``start`` where equity <= 0."""
    bad = (equity[start:] <= 0).nonzero()[0]
    return int(bad[0]) + start if bad.size else None


# -- general path: the broker, driven at event bars ----------------------------------------------


def drive_signals(broker: Broker, sig: SignalSet, start: int, n: int, stop: int | None) -> None:
    """Place the orders ``next()`` would place at each signal bar and fill them on the next bar."""
    for t in sig.events(start).tolist():
        if stop is not None and t >= stop:
            break
        broker.i = t
        for s in range(len(broker.symbols)):
            _act(broker, sig, s, t)
        if t + 1 < n:
            broker.process(t + 1)


def _act(broker: Broker, sig: SignalSet, s: int, t: int) -> None:
    side = _side(broker.pos[s])
    want = _want(sig, s, t, side)
    if want or _exits(sig, s, t, side):
        for trade in [tr for tr in broker.trades if tr.sym == s]:
            broker.close_trade(trade, 1.0)
    if want:
        broker.new_order(s, want * sig.size, relative=sig.relative)


def _side(size: float) -> int:
    return (size > 0) - (size < 0)


def _want(sig: SignalSet, s: int, t: int, side: int) -> int:
    if sig.entries[s, t] and side != 1:
        return 1
    if sig.short_entries[s, t] and side != -1:
        return -1
    return 0


def _exits(sig: SignalSet, s: int, t: int, side: int) -> bool:
    return bool((sig.exits[s, t] and side == 1) or (sig.short_exits[s, t] and side == -1))


def drive_targets(broker: Broker, weights: np.ndarray, start: int, n: int, stop: int | None) -> None:
    """Queue a rebalance at every bar with a weight and fill it on the next bar."""
    mask = ~np.isnan(weights)
    any_bar = mask.any(axis=0)
    any_bar[:start] = False
    for t in np.flatnonzero(any_bar).tolist():
        if stop is not None and t >= stop:
            break
        broker.i = t
        for s in np.flatnonzero(mask[:, t]).tolist():
            broker.target(s, float(weights[s, t]))
        if t + 1 < n:
            broker.process(t + 1)
