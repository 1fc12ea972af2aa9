"""``Backtest``: run a strategy class over market data and return a ``Result``."""

from __future__ import annotations

import linecache
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from quanta.engine import _fast, _logs, _vector
from quanta.engine.broker import Broker
from quanta.engine.config import BacktestConfig
from quanta.engine.costs import VolumeShareSlippage
from quanta.engine.errors import DataError, StrategyError
from quanta.engine.market import Market, as_market
from quanta.engine.result import OrderLog, Result, TradeLog
from quanta.receipt import canonical_json, make_receipt
from quanta.stats import Drawdown, Frame, Stats, compute_stats, drawdown
from quanta.strategy import Signals, Strategy, Targets
from quanta.strategy._base import warmup_bars
from quanta.strategy._vector import as_matrix

_QUANTA_DIR = str(Path(__file__).resolve().parents[1])


@dataclass(frozen=True, slots=True, eq=False)
class _Outcome:
    """A finished simulation: what a ``Result``, or only some statistics, are made from.

    The trade logs and the order log are built only when a ``Result`` asks for them.
    """

    strategy: Strategy
    params: dict[str, Any]
    start: int  # first bar ``next()`` saw (1 + warm-up bars)
    ledger: _vector.Ledger
    equity: np.ndarray
    figures: _logs.TradeFigures  # what the statistics read of the closed trades
    closed: Callable[[], TradeLog]
    opened: Callable[[], TradeLog]
    orders: Callable[[], OrderLog]


class Backtest:
    """A strategy class on fixed data with fixed options; ``run(**params)`` as often as you like.

    ``data`` is a pandas/polars OHLCV frame, a long frame with a ``symbol`` column or a
    ``{symbol: frame}`` mapping. Options are ``BacktestConfig`` fields (cash, commission, spread,
    slippage, margin, trade_on_close, hedging, exclusive_orders, finalize_trades, fractional,
    risk_free_rate).
    """

    def __init__(self, data: object, strategy: type[Strategy], **options: Any) -> None:
        if not (isinstance(strategy, type) and issubclass(strategy, Strategy)):
            raise TypeError(f"strategy must be a Strategy subclass, got {strategy!r}")
        self.strategy = strategy
        self.config = BacktestConfig.from_options(options)
        self.market = as_market(data)
        if isinstance(self.config.slippage, VolumeShareSlippage) and not np.all(self.market.volume > 0):
            raise DataError("VolumeShareSlippage needs a positive volume on every bar")
        self.data_sha256 = self.market.digest()
        self._config_json = canonical_json(self.config.to_dict())
        self._frames: dict[int, Frame] = {}

    def run(self, **params: Any) -> Result:
        """Run with ``params`` overriding the strategy's class attributes."""
        return self._result(self._simulate(params))

    def run_stats(self, names: Iterable[str], /, **params: Any) -> Stats:
        """``run(**params).stats`` limited to ``names``, with the same values, for searches that keep
        a few statistics of many runs: neither the ``Result`` (logs, receipt) nor the other
        statistics are computed. An unknown name raises ``KeyError``."""
        return self._stats(self._simulate(params), names=names)

    def _simulate(self, params: dict[str, Any]) -> _Outcome:
        cls = self.strategy
        values = cls.resolve_params(params)
        mode = cls._mode()
        broker = Broker(self.market, self.config)
        strategy = cls._create(broker, self.market, values)
        _guarded(strategy, "init", None, strategy.init)
        start = 1 + warmup_bars(strategy._indicators)
        if mode == "next":
            return self._events(strategy, broker, start, values)
        if mode == "signals":
            signals = _guarded(strategy, "signals", None, strategy.signals)
            return self._signals(strategy, broker, signals, start, values)
        targets = _guarded(strategy, "targets", None, strategy.targets)
        return self._targets(strategy, broker, targets, start, values)

    # -- event-driven ----------------------------------------------------------------------------

    def _events(self, strategy: Strategy, broker: Broker, start: int, params: dict[str, Any]) -> _Outcome:
        n = self.market.n_bars
        reveal = _reveal_plan(strategy)
        completed = _loop(strategy, broker, reveal, start, n)
        strategy.data._set_length(n)
        for name, full in reveal:
            strategy.__dict__[name] = full
        if completed:
            self._finalize(broker, start, n)
        return self._from_broker(broker, strategy, start, params)

    def _finalize(self, broker: Broker, start: int, n: int) -> None:
        if not self.config.finalize_trades:
            return
        broker.i = n - 1
        for trade in reversed(broker.trades):
            trade.close()
        if start < n:  # fill the closes (and any order from the last bar) on the last bar, as backtesting.py
            broker.process(n - 1)
            broker.end_bar(n - 1)

    # -- vectorised --------------------------------------------------------------------------------

    def _signals(
        self, strategy: Strategy, broker: Broker, signals: Signals, start: int, params: dict[str, Any]
    ) -> _Outcome:
        sig = _signal_set(signals, self.market)
        n = self.market.n_bars
        if _fast.applies(self.config, sig, len(self.market.symbols)):
            try:
                return self._fast(strategy, sig, start, params)
            except _fast.NeedsBrokerError:
                pass

        def drive(b: Broker, stop: int | None) -> None:
            _vector.drive_signals(b, sig, start, n, stop)

        return self._driven(strategy, broker, drive, start, params)

    def _targets(
        self, strategy: Strategy, broker: Broker, targets: Targets, start: int, params: dict[str, Any]
    ) -> _Outcome:
        if not isinstance(targets, Targets):
            raise TypeError(f"targets() must return Targets, got {type(targets).__name__}")
        weights = as_matrix(
            targets.weights, self.market.symbols, self.market.n_bars, dtype=float, name="weights"
        )
        n = self.market.n_bars

        def drive(b: Broker, stop: int | None) -> None:
            _vector.drive_targets(b, weights, start, n, stop)

        return self._driven(strategy, broker, drive, start, params)

    def _driven(
        self, strategy: Strategy, broker: Broker, drive: Any, start: int, params: dict[str, Any]
    ) -> _Outcome:
        n = self.market.n_bars
        drive(broker, None)
        equity = _vector.ledger_of(broker.snapshots, broker.cash0, self.market.close).equity()
        bad = _vector.first_wipeout(equity, start)
        if bad is not None:
            broker = Broker(self.market, self.config)
            strategy._broker = broker
            drive(broker, bad)
            broker.i = bad
            broker.end_bar(bad)
        else:
            self._finalize(broker, start, n)
        return self._from_broker(broker, strategy, start, params)

    def _fast(
        self, strategy: Strategy, sig: _vector.SignalSet, start: int, params: dict[str, Any]
    ) -> _Outcome:
        m = self.market
        cash = float(self.config.cash)
        run = _fast.run(m, self.config, sig, start, stop=None, finalize=False)
        ledger = _vector.Ledger(run.bars, run.balance, run.pos, run.cost, cash, m.close)
        equity = ledger.equity()
        bad = _vector.first_wipeout(equity, start)
        if bad is not None or self.config.finalize_trades:  # replay up to the wipe-out, or to finalize
            run = _fast.run(m, self.config, sig, start, stop=bad, finalize=bad is None)
            ledger = _vector.Ledger(run.bars, run.balance, run.pos, run.cost, cash, m.close)
            equity = ledger.equity()
        sym = m.symbols[0]
        held = run.held

        def opened() -> TradeLog:
            return _logs.open_log([] if held is None else [(sym, held[0], held[1], held[2], held[3])], m)

        def orders() -> OrderLog:
            return _logs.fast_order_log(_fast.orders(run, sig.size, m.n_bars), sym)

        def closed() -> TradeLog:
            return _logs.closed_log(run.trades, sym)

        figures = _logs.TradeFigures.of(run.trades)
        return _Outcome(strategy, params, start, ledger, equity, figures, closed, opened, orders)

    # -- results -----------------------------------------------------------------------------------

    def _from_broker(
        self, broker: Broker, strategy: Strategy, start: int, params: dict[str, Any]
    ) -> _Outcome:
        market, trades, orders_placed = self.market, list(broker.trades), broker.log
        ledger = _vector.ledger_of(broker.snapshots, broker.cash0, market.close)

        def opened() -> TradeLog:
            rows = [(t.symbol, t.size, t.entry_price, t.entry_bar, t.entry_commission) for t in trades]
            return _logs.open_log(rows, market)

        def orders() -> OrderLog:
            return _logs.order_log(orders_placed)

        log = _logs.trade_log(broker.closed, broker.symbols)
        figures = _logs.TradeFigures.from_log(log)
        return _Outcome(
            strategy, params, start, ledger, ledger.equity(), figures, lambda: log, opened, orders
        )

    def _result(self, run: _Outcome) -> Result:
        m = self.market
        dd = drawdown(run.equity, m.index)
        receipt = make_receipt(
            strategy=type(run.strategy),
            params=run.params,
            data_sha256=self.data_sha256,
            config=self._config_json,
        )
        return Result(
            strategy=type(run.strategy).__name__,
            params=run.params,
            symbols=m.symbols,
            index=m.index,
            is_datetime=m.is_datetime,
            tz=m.tz,
            equity=run.equity,
            account_source=run.ledger.account,
            drawdown=dd.pct,
            stats=self._stats(run, dd=dd),
            trades=run.closed(),
            open_trades=run.opened(),
            order_source=run.orders,
            receipt=receipt,
            warmup_bars=run.start - 1,
        )

    def _stats(
        self, run: _Outcome, *, dd: Drawdown | None = None, names: Iterable[str] | None = None
    ) -> Stats:
        first = min(run.start - 1, self.market.n_bars - 1)
        trades = run.figures
        return compute_stats(
            equity=run.equity,
            frame=self._frame(first),
            entry_bar=trades.entry_bar,
            exit_bar=trades.exit_bar,
            pnl=trades.pnl,
            returns=trades.return_pct,
            commissions=float(trades.commission.sum()),
            warmup_bars=first,
            risk_free_rate=self.config.risk_free_rate,
            dd=dd,
            names=names,
        )

    def _frame(self, first: int) -> Frame:
        """The statistics' view of the data, cached (one benchmark per warm-up with several symbols)."""
        m = self.market
        key = 0 if len(m.symbols) == 1 else first
        frame = self._frames.get(key)
        if frame is None:
            bench = (
                m.close[0]
                if len(m.symbols) == 1
                else np.asarray(m.close / m.close[:, first : first + 1]).mean(0)
            )
            frame = self._frames[key] = Frame.of(m.index, bench, is_datetime=m.is_datetime, tz=m.tz)
        return frame


def _signal_set(signals: Signals, market: Market) -> _vector.SignalSet:
    if not isinstance(signals, Signals):
        raise TypeError(f"signals() must return Signals, got {type(signals).__name__}")
    n, symbols = market.n_bars, market.symbols
    mats = {
        name: as_matrix(getattr(signals, name), symbols, n, dtype=bool, name=name)
        for name in ("entries", "exits", "short_entries", "short_exits")
    }
    if signals.entries is not None and signals.short_entries is not None:
        clash = mats["entries"] & mats["short_entries"]
        if clash.any():
            s, t = (int(v[0]) for v in np.nonzero(clash))
            raise ValueError(f"entries and short_entries are both set for {symbols[s]!r} at bar {t}")
    size = signals.size
    if not (0 < size < 1 or size >= 1):
        raise ValueError(f"Signals.size must be a fraction in (0, 1) or units >= 1, got {size}")
    has_exits = (signals.exits is not None and bool(mats["exits"].any())) or (
        signals.short_exits is not None and bool(mats["short_exits"].any())
    )
    return _vector.SignalSet(size=float(size), relative=size < 1, has_exits=has_exits, **mats)


def _reveal_plan(strategy: Strategy) -> list[tuple[str, Any]]:
    """Attributes holding indicators (or dicts/lists/tuples of them) to re-slice every bar."""
    ids = {id(ind.values) for ind in strategy._indicators}
    plan: list[tuple[str, Any]] = []
    for name, value in vars(strategy).items():
        if isinstance(value, np.ndarray) and id(value) in ids:
            plan.append((name, value))
        elif isinstance(value, dict | list | tuple) and value:
            items = value.values() if isinstance(value, dict) else value
            if all(isinstance(v, np.ndarray) and id(v) in ids for v in items):
                plan.append((name, value))
    return plan


def _loop(strategy: Strategy, broker: Broker, reveal: list[tuple[str, Any]], start: int, n: int) -> bool:
    """The per-bar loop; False when the account was wiped out."""
    flat = [(name, full) for name, full in reveal if isinstance(full, np.ndarray) and full.ndim == 1]
    other = [(name, full) for name, full in reveal if not (isinstance(full, np.ndarray) and full.ndim == 1)]
    state = strategy.__dict__
    data, views = strategy.data, strategy.data.views[1:]
    closes = strategy._market.close[0].tolist()
    step = strategy.next
    b = broker
    lo, hi = b.lo, b.hi
    i = start
    try:
        for i in range(start, n):
            m = i + 1
            data._n = m
            for view in views:
                view._n = m
            for name, full in flat:
                state[name] = full[:m]
            if other:
                _reveal_other(state, other, m)
            b.i = i
            if b.orders or b.targets:
                b.process(i)
                lo, hi = b.lo, b.hi
            c = closes[i]
            if c <= lo or c >= hi:
                if b.end_bar(i):
                    return False
                lo, hi = b.lo, b.hi
            step()
    except Exception as exc:
        raise _user_error(exc, strategy, "next", i) from exc
    return True


def _reveal_other(state: dict[str, Any], other: list[tuple[str, Any]], m: int) -> None:
    for name, full in other:
        state[name] = full[..., :m] if isinstance(full, np.ndarray) else _slice_container(full, m)


def _slice_container(full: Any, m: int) -> Any:
    if isinstance(full, dict):
        return {k: v[..., :m] for k, v in full.items()}
    return type(full)(v[..., :m] for v in full)


def _guarded(strategy: Strategy, method: str, bar: int | None, call: Any) -> Any:
    try:
        return call()
    except Exception as exc:
        raise _user_error(exc, strategy, method, bar) from exc


def _user_error(exc: Exception, strategy: Strategy, method: str, bar: int | None) -> Exception:
    """A ``StrategyError`` pointing at the deepest frame of user code, or ``exc`` if none is user code."""
    if isinstance(exc, StrategyError):
        return exc
    frames = traceback.extract_tb(exc.__traceback__)
    user = [f for f in frames if not f.filename.startswith(_QUANTA_DIR)]
    if not user:
        return exc
    frame = user[-1]
    line = (frame.line or linecache.getline(frame.filename, frame.lineno or 0)).strip()
    where = f" at bar {bar} ({strategy._market.time_at(bar)})" if bar is not None else ""
    message = (
        f"{type(exc).__name__}: {exc}\n  in {type(strategy).__name__}.{method}(){where}, "
        f'File "{frame.filename}", line {frame.lineno}\n    {line}'
    )
    trace = "".join(traceback.format_exception(exc))
    return StrategyError(
        message, filename=frame.filename, lineno=frame.lineno, method=method, bar=bar, trace=trace
    )
