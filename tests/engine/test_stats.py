"""``quanta.stats`` against backtesting.py 0.6.6's ``compute_stats`` on random equity curves and trades."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from backtesting._stats import compute_stats as bt_compute_stats
from hypothesis import given, settings
from hypothesis import strategies as st

from quanta.stats import STAT_NAMES, Frame, compute_stats, drawdown, geometric_mean
from tests.engine.test_run_stats import same

INDEXES = {
    "business days": lambda n: pd.bdate_range("2019-01-01", periods=n),
    "calendar days": lambda n: pd.date_range("2019-01-01", periods=n, freq="D"),
    "weeks": lambda n: pd.date_range("2015-01-04", periods=n, freq="W"),
    "months": lambda n: pd.date_range("2000-01-31", periods=n, freq="31D"),
    "hours": lambda n: pd.date_range("2021-03-01 09:00", periods=n, freq="h"),
    "new york minutes": lambda n: pd.date_range(
        "2021-03-12 15:00", periods=n, freq="7min", tz="America/New_York"
    ),
    "integers": pd.RangeIndex,
}


def equal(ours: Any, theirs: Any) -> bool:
    if isinstance(theirs, pd.Timestamp | pd.Timedelta):
        return bool(ours == theirs)
    if pd.isna(theirs):
        return bool(pd.isna(ours))
    return bool(ours == pytest.approx(float(theirs), rel=1e-9, abs=1e-9))


@st.composite
def runs(draw: st.DrawFn) -> tuple[pd.Index, np.ndarray, np.ndarray, pd.DataFrame]:
    n = draw(st.integers(2, 300))
    index = INDEXES[draw(st.sampled_from(list(INDEXES)))](n)
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    shape = draw(st.sampled_from(["walk", "flat", "wipe-out", "rising"]))
    equity = 10_000 * np.exp(np.cumsum(rng.normal(0.001, 0.03, n)))
    if shape == "flat":
        equity = np.full(n, 10_000.0)
    elif shape == "rising":
        equity = 10_000 + np.arange(n, dtype=float)
    elif shape == "wipe-out":
        equity[rng.integers(1, n) :] = 0.0
    k = draw(st.integers(0, 25))
    entry = np.sort(rng.integers(0, n, k))
    exit_ = np.minimum(entry + rng.integers(0, 20, k), n - 1)
    pnl = rng.normal(0, 100, k)
    pnl[rng.random(k) < 0.1] = 0.0
    returns = pnl / 5_000
    trades = pd.DataFrame(
        {
            "Size": np.ones(k),
            "EntryBar": entry,
            "ExitBar": exit_,
            "PnL": pnl,
            "ReturnPct": returns,
            "EntryTime": index[entry],
            "ExitTime": index[exit_],
        }
    )
    trades["Duration"] = trades["ExitTime"] - trades["EntryTime"]
    return index, equity, close, trades


@settings(max_examples=300, deadline=None)
@given(runs())
def test_statistics_match_backtesting_py_definitions(
    case: tuple[pd.Index, np.ndarray, np.ndarray, pd.DataFrame],
) -> None:
    index, equity, close, trades = case
    with np.errstate(all="ignore"):
        ref = bt_compute_stats(trades, equity, pd.DataFrame({"Close": close}, index=index), None)
    is_dt = isinstance(index, pd.DatetimeIndex)
    values = np.asarray(index.as_unit("ns").asi8 if is_dt else index)  # type: ignore[attr-defined]
    frame = Frame.of(values, close, is_datetime=is_dt, tz=str(index.tz) if is_dt and index.tz else None)
    ours = compute_stats(
        equity=equity,
        frame=frame,
        entry_bar=trades["EntryBar"].to_numpy(),
        exit_bar=trades["ExitBar"].to_numpy(),
        pnl=trades["PnL"].to_numpy(),
        returns=trades["ReturnPct"].to_numpy(),
        commissions=0.0,
    )
    assert list(ours) == list(STAT_NAMES)
    for name, expected in ref.items():
        if not name.startswith("_"):
            assert equal(ours[name], expected), (name, ours[name], expected)


@settings(max_examples=150, deadline=None)
@given(runs(), st.sets(st.sampled_from(STAT_NAMES), min_size=1), st.booleans())
def test_a_subset_of_statistics_equals_the_full_sets(
    case: tuple[pd.Index, np.ndarray, np.ndarray, pd.DataFrame], names: set[str], with_drawdown: bool
) -> None:
    index, equity, close, trades = case
    is_dt = isinstance(index, pd.DatetimeIndex)
    values = np.asarray(index.as_unit("ns").asi8 if is_dt else index)  # type: ignore[attr-defined]
    frame = Frame.of(values, close, is_datetime=is_dt)
    run: dict[str, Any] = {
        "equity": equity,
        "frame": frame,
        "entry_bar": trades["EntryBar"].to_numpy(),
        "exit_bar": trades["ExitBar"].to_numpy(),
        "pnl": trades["PnL"].to_numpy(),
        "returns": trades["ReturnPct"].to_numpy(),
        "commissions": 1.5,
        "warmup_bars": min(3, len(index) - 1),
        "risk_free_rate": 0.01,
    }
    full = compute_stats(**run)
    some = compute_stats(**run, names=names, dd=drawdown(equity, values) if with_drawdown else None)
    assert list(some) == [n for n in STAT_NAMES if n in names]
    for name in names:
        assert same(some[name], full[name]), (name, some[name], full[name])


def test_an_unknown_statistic_name_raises_key_error() -> None:
    frame = Frame.of(np.arange(3), np.ones(3), is_datetime=False)
    empty = np.array([], dtype=np.int64)
    with pytest.raises(KeyError, match="Sharpe"):
        compute_stats(
            equity=np.ones(3),
            frame=frame,
            entry_bar=empty,
            exit_bar=empty,
            pnl=np.array([]),
            returns=np.array([]),
            commissions=0.0,
            names=["Sharpe"],
        )


def test_drawdown_reports_each_drawdown_at_its_last_bar() -> None:
    equity = np.array([100.0, 110, 99, 88, 110, 120, 108, 120, 130])
    index = np.arange(9)
    dd = drawdown(equity, index)
    np.testing.assert_allclose(dd.pct, [0, 0, 0.1, 0.2, 0, 0, 0.1, 0, 0])
    assert dd.ends.tolist() == [4, 7]
    assert dd.durations.tolist() == [3, 2]
    np.testing.assert_allclose(dd.peaks, [0.2, 0.1])


def test_geometric_mean_treats_nan_as_zero_and_ruin_as_zero() -> None:
    assert geometric_mean(np.array([0.1, np.nan, 0.1])) == pytest.approx((1.1 * 1.1) ** (1 / 3) - 1)
    assert geometric_mean(np.array([0.5, -1.0])) == 0.0
    assert np.isnan(geometric_mean(np.array([])))
