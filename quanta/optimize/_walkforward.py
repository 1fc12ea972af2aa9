"""Walk-forward optimisation: fit on a window, trade the next one, roll on, and stitch what was traded.

The data is cut into ``folds`` consecutive test windows, each preceded by a training window (rolling,
or ``anchored`` at the first bar). Each training window is searched with any method; the best
parameters are then backtested on the test window, given ``lookback`` bars before it so that
indicators are warmed up (by default as many as the training window: data known at that time).
Equity before the test window and trades closed before it are left out; a position the strategy
holds when the test window starts counts from there on (its trade record keeps its true entry).
The out-of-sample segments are chained into one account — each segment scaled so it starts at the
previous one's final equity — giving a stitched equity curve, trade list and statistics, returned as
a ``Result``. Positions still open at a fold's end are marked at its last close and not carried into
the next fold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from quanta.engine import BacktestConfig, OrderLog, Result, TradeLog
from quanta.optimize._objective import BacktestObjective, Window, kept_stats, score
from quanta.optimize._pool import Evaluations
from quanta.optimize._search import Method, Progress, _Counter, collect, search_rows
from quanta.optimize._space import Constraint, Params, Space, SpaceSpec
from quanta.receipt import canonical_json, make_receipt
from quanta.stats import Frame, Stats, compute_stats, drawdown

_MIN_BARS = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class Fold:
    """One walk-forward step: the windows (bars ``[start, stop)``), the parameters fitted in-sample,
    the in-sample and out-of-sample scores and the out-of-sample statistics."""

    number: int
    train: Window
    test: Window
    train_start: Any
    train_end: Any
    test_start: Any
    test_end: Any
    params: Params
    in_sample: float
    out_of_sample: float
    stats: dict[str, float]


@dataclass(frozen=True, kw_only=True, eq=False)
class WalkForwardResult:
    """The folds and the stitched out-of-sample ``result`` (equity, trades, statistics)."""

    method: str
    maximize: str
    folds: tuple[Fold, ...]
    result: Result

    @property
    def equity(self) -> pd.Series:
        """The stitched out-of-sample equity curve."""
        return pd.Series(self.result.equity, index=self.result.pandas_index(), name="equity")

    def table(self) -> pd.DataFrame:
        """One row per fold: windows, parameters, scores and the out-of-sample statistics."""
        records = [
            {
                "fold": f.number,
                "train_start": f.train_start,
                "train_end": f.train_end,
                "test_start": f.test_start,
                "test_end": f.test_end,
                **f.params,
                "in_sample": f.in_sample,
                "out_of_sample": f.out_of_sample,
                **f.stats,
            }
            for f in self.folds
        ]
        return pd.DataFrame.from_records(records)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary of the folds (the stitched result is saved separately)."""
        return {
            "method": self.method,
            "maximize": self.maximize,
            "folds": [_fold_dict(f) for f in self.folds],
        }


def _fold_dict(fold: Fold) -> dict[str, Any]:
    def plain(v: Any) -> Any:
        if isinstance(v, pd.Timestamp):
            return v.isoformat()
        if isinstance(v, float) and math.isnan(v):
            return None
        return v

    return {
        "fold": fold.number,
        "train": list(fold.train),
        "test": list(fold.test),
        "train_start": plain(fold.train_start),
        "train_end": plain(fold.train_end),
        "test_start": plain(fold.test_start),
        "test_end": plain(fold.test_end),
        "params": fold.params,
        "in_sample": plain(fold.in_sample),
        "out_of_sample": plain(fold.out_of_sample),
        "stats": {k: plain(v) for k, v in fold.stats.items()},
    }


def windows(
    n_bars: int, *, folds: int, train: int | None = None, test: int | None = None, anchored: bool = False
) -> list[tuple[Window, Window]]:
    """``(train, test)`` bar windows of each fold, the last test window ending at the last bar.

    By default the test windows split the data so the first training window is at least three
    test windows long.
    """
    if folds < 1:
        raise ValueError(f"folds must be >= 1, got {folds}")
    if test is None:
        test = (n_bars - train) // folds if train is not None else n_bars // (folds + 3)
    if train is None:
        train = n_bars - folds * test
    if test < _MIN_BARS or train < _MIN_BARS or train + folds * test > n_bars:
        raise ValueError(
            f"cannot fit {folds} folds of {test} test bars after {train} training bars in {n_bars} bars"
        )
    first = n_bars - folds * test
    out: list[tuple[Window, Window]] = []
    for k in range(folds):
        start = first + k * test
        out.append(((0 if anchored else start - train, start), (start, start + test)))
    return out


def walk_forward(
    objective: BacktestObjective,
    space: SpaceSpec | Space,
    *,
    folds: int = 5,
    train: int | None = None,
    test: int | None = None,
    anchored: bool = False,
    lookback: int | None = None,
    method: Method = "grid",
    trials: int | None = None,
    seed: int = 0,
    constraint: Constraint | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    start_method: str | None = None,
) -> WalkForwardResult:
    """Fit on each training window with ``method``, evaluate on the following test window, stitch."""
    space = Space.of(space)
    objective.check(space.at(0))
    plan = windows(objective.n_bars, folds=folds, train=train, test=test, anchored=anchored)
    counter = _Counter(progress)
    counter.set_total(len(plan))  # one out-of-sample run per fold
    done: list[tuple[Fold, Result, int]] = []
    with Evaluations(objective, workers=workers, start_method=start_method) as pool:
        for number, (train_w, test_w) in enumerate(plan):
            rows = search_rows(
                pool,
                space,
                method=method,
                trials=trials,
                seed=seed + number,
                constraint=constraint,
                window=train_w,
                tick=counter.tick,
                total_known=counter.set_total,
            )
            fitted = collect(
                rows,
                objective=objective,
                method=method,
                names=space.names,
                keep=1,
                keep_rows=False,
                materialize=False,
            )
            done.append(
                _evaluate_fold(
                    objective,
                    number=number,
                    train=train_w,
                    test=test_w,
                    params=fitted.best.params,
                    in_sample=fitted.best.score,
                    lookback=train_w[1] - train_w[0] if lookback is None else lookback,
                )
            )
            counter.tick(1)
    counter.finish()
    return WalkForwardResult(
        method=method,
        maximize=objective.label,
        folds=tuple(fold for fold, _, _ in done),
        result=_stitch(objective, [(r, offset) for _, r, offset in done], plan, folds=len(plan)),
    )


def _evaluate_fold(
    objective: BacktestObjective,
    *,
    number: int,
    train: Window,
    test: Window,
    params: Params,
    in_sample: float,
    lookback: int,
) -> tuple[Fold, Result, int]:
    start = max(0, test[0] - lookback)
    result = objective.run(params, (start, test[1]))
    offset = test[0] - start
    stats = _segment_stats(objective, result, offset)
    index = objective.market.time_at
    fold = Fold(
        number=number,
        train=train,
        test=test,
        train_start=index(train[0]),
        train_end=index(train[1] - 1),
        test_start=index(test[0]),
        test_end=index(test[1] - 1),
        params=params,
        in_sample=in_sample,
        out_of_sample=score(stats, objective.maximize),
        stats=kept_stats(stats, objective.stats),
    )
    return fold, result, offset


# -- stitching -------------------------------------------------------------------------------------


def _segment_trades(result: Result, offset: int) -> TradeLog:
    """Trades closed from bar ``offset`` on, with bars counted from ``offset`` (entries clipped to 0)."""
    t = result.trades
    out = _select(t, t.exit_bar >= offset)
    out["entry_bar"] = np.maximum(out["entry_bar"] - offset, 0)
    out["exit_bar"] = out["exit_bar"] - offset
    return TradeLog(**out)  # type: ignore[arg-type]


def _select(log: TradeLog | OrderLog, keep: np.ndarray) -> dict[str, Any]:
    """The columns of ``log`` at the rows where ``keep`` is true."""
    rows = np.flatnonzero(keep)
    out: dict[str, Any] = {}
    for name, dtype in log._dtypes.items():
        values = getattr(log, name)
        out[name] = tuple(values[i] for i in rows) if dtype == "object" else values[rows]
    return out


def _benchmark(close: np.ndarray) -> np.ndarray:
    if close.shape[0] == 1:
        return np.asarray(close[0])
    return np.asarray((close / close[:, :1]).mean(axis=0))


def _stats(objective: BacktestObjective, equity: np.ndarray, trades: TradeLog, window: Window) -> Stats:
    m = objective.market
    index = m.index[window[0] : window[1]]
    frame = Frame.of(index, _benchmark(m.close[:, window[0] : window[1]]), is_datetime=m.is_datetime, tz=m.tz)
    return compute_stats(
        equity=equity,
        frame=frame,
        entry_bar=trades.entry_bar,
        exit_bar=trades.exit_bar,
        pnl=trades.pnl,
        returns=trades.return_pct,
        commissions=float(trades.commission.sum()),
        risk_free_rate=BacktestConfig.from_options(dict(objective.options)).risk_free_rate,
    )


def _segment_stats(objective: BacktestObjective, result: Result, offset: int) -> Stats:
    start = int(np.searchsorted(objective.market.index, result.index[offset]))
    window = (start, start + len(result.index) - offset)
    return _stats(objective, result.equity[offset:], _segment_trades(result, offset), window)


def _scaled(log: TradeLog, factor: float, shift: int) -> dict[str, Any]:
    cols: dict[str, Any] = {name: getattr(log, name) for name in TradeLog._dtypes}
    for name in ("size", "pnl", "commission"):
        cols[name] = cols[name] * factor
    cols["entry_bar"] = cols["entry_bar"] + shift
    cols["exit_bar"] = cols["exit_bar"] + shift
    return cols


def _concat(parts: list[dict[str, Any]], kind: type[TradeLog] | type[OrderLog]) -> Any:
    dtypes = kind._dtypes
    rows: dict[str, list[Any]] = {name: [] for name in dtypes}
    for part in parts:
        for name in dtypes:
            rows[name].extend(list(part[name]))
    return kind.from_rows(rows)


def _orders(result: Result, offset: int, shift: int, factor: float) -> dict[str, Any]:
    o = result.orders
    out = _select(o, (o.fill_bar >= offset) | ((o.fill_bar < 0) & (o.placed_bar >= offset)))
    out["placed_bar"] = np.maximum(out["placed_bar"] - offset, 0) + shift
    out["fill_bar"] = np.where(out["fill_bar"] >= 0, out["fill_bar"] - offset + shift, -1)
    for name in ("size", "fill_size"):
        out[name] = np.where(out["relative"], out[name], out[name] * factor)
    return out


def _stitch(
    objective: BacktestObjective,
    runs: list[tuple[Result, int]],
    plan: list[tuple[Window, Window]],
    *,
    folds: int,
) -> Result:
    m = objective.market
    cash0 = BacktestConfig.from_options(dict(objective.options)).cash
    level = cash0
    equity, cash, positions, trades, orders = [], [], [], [], []
    shift = 0
    for result, offset in runs:
        base = result.equity[offset - 1] if offset > 0 else cash0
        factor = level / base
        equity.append(result.equity[offset:] * factor)
        cash.append(result.cash[offset:] * factor)
        positions.append(result.positions[:, offset:] * factor)
        trades.append(_scaled(_segment_trades(result, offset), factor, shift))
        orders.append(_orders(result, offset, shift, factor))
        level = float(equity[-1][-1])
        shift += len(result.index) - offset
    window = (plan[0][1][0], plan[-1][1][1])
    curve = np.concatenate(equity)
    log: TradeLog = _concat(trades, TradeLog)
    stats = _stats(objective, curve, log, window)
    params = {"walk_forward": [dict(run.params) for run, _ in runs]}
    config = canonical_json(
        {**BacktestConfig.from_options(dict(objective.options)).to_dict(), "folds": folds}
    )
    receipt = make_receipt(
        strategy=objective.strategy_class, params=params, data_sha256=m.digest(), config=config
    )
    index = m.index[window[0] : window[1]]
    return Result(
        strategy=objective.strategy_class.__name__,
        params=params,
        symbols=m.symbols,
        index=index,
        is_datetime=m.is_datetime,
        tz=m.tz,
        equity=curve,
        account_source=(np.concatenate(cash), np.concatenate(positions, axis=1)),
        drawdown=drawdown(curve, index).pct,
        stats=stats,
        trades=log,
        open_trades=_concat([], TradeLog),
        order_source=_concat(orders, OrderLog),
        receipt=receipt,
        warmup_bars=0,
    )
