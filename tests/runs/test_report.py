"""The HTML report: monthly returns, escaping, and charts drawn from a stored run."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from quanta.report import monthly_returns, render_report
from quanta.runs import RunSummary, StoredRun


def test_monthly_returns_chain_month_ends_and_sum_to_the_year() -> None:
    index = pd.bdate_range("2021-01-01", "2021-03-31")
    equity = pd.Series(100.0, index=index)
    equity[index >= "2021-02-01"] = 110.0
    equity[index >= "2021-03-01"] = 99.0
    table = monthly_returns(equity)
    assert list(table.index) == [2021]
    assert table.loc[2021, 1] == 0.0
    assert table.loc[2021, 2] == pytest.approx(10.0)
    assert table.loc[2021, 3] == pytest.approx(-10.0)
    assert np.isnan(table.loc[2021, 4])
    assert table.loc[2021, "Year"] == pytest.approx(-1.0)


def stored(strategy: str, tag: str) -> StoredRun:
    index = pd.DatetimeIndex(pd.bdate_range("2020-01-01", periods=60), name="ts")
    equity = 10_000 * np.exp(np.linspace(0, 0.1, 60))
    summary = RunSummary(
        run_id="01abc",
        created_at=datetime(2024, 1, 2, 3, 4),
        kind="backtest",
        strategy=strategy,
        class_name=strategy,
        strategy_file=None,
        symbols=("XYZ",),
        start=index[0].to_pydatetime(),
        end=index[-1].to_pydatetime(),
        params={"n": 3},
        headline={},
    )
    trades = pd.DataFrame(
        {
            "symbol": ["XYZ"],
            "size": [5.0],
            "entry_bar": [3],
            "exit_bar": [20],
            "entry_time": [index[3]],
            "exit_time": [index[20]],
            "entry_price": [100.0],
            "exit_price": [110.0],
            "sl": [np.nan],
            "tp": [np.nan],
            "pnl": [50.0],
            "return_pct": [0.1],
            "commission": [0.0],
            "tag": [tag],
        }
    )
    return StoredRun(
        meta=summary,
        options={"cash": 10_000.0},
        extra={},
        stats={"Return [%]": 10.5, "# Trades": 1, "Duration": {"seconds": 86400.0, "display": "1 days"}},
        receipt={"strategy_sha256": "abc"},
        equity=pd.DataFrame({"bar": range(60), "equity": equity, "drawdown_pct": 0.0}, index=index),
        trades=trades,
        prices=pd.DataFrame({"XYZ": np.linspace(100, 120, 60)}, index=index),
    )


def test_report_escapes_names_and_tags() -> None:
    page = render_report(stored("<script>alert(1)</script>", "<img src=x onerror=alert(2)>"))
    assert "<script>" not in page
    assert "<img" not in page
    assert "&lt;script&gt;" in page


def test_report_draws_equity_drawdown_price_and_trade_markers() -> None:
    page = render_report(stored("Demo", "t1"))
    assert page.count("<svg") == 3
    assert "XYZ price and trades" in page
    assert "long 5 @ 100.00 → 110.00, P&amp;L 50.00" in page
    assert "1 days" in page
    assert "Buy &amp; hold" in page
