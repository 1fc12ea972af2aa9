"""Saved runs in the browser: a bundled example run from the gallery, and a run started from the CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from playwright.sync_api import Page, expect

from quanta.testing.app_server import ROOT, RunningApp

pytestmark = pytest.mark.browser


def test_an_example_run_shows_equity_trades_and_statistics(page: Page, app_server: RunningApp) -> None:
    page.goto(f"{app_server.url}/results")

    page.get_by_test_id("run-example-sma_cross").click()

    expect(page.get_by_test_id("run-heading")).to_be_visible(timeout=120_000)
    expect(page.get_by_test_id("stats-table")).to_contain_text("Sharpe Ratio")
    expect(page.get_by_test_id("line-chart").first).to_have_attribute("data-points", re.compile(r"^\d{3,}$"))
    trades = page.get_by_test_id("trades-table").locator("tbody tr")
    expect(trades.first).to_be_visible()
    markers = page.get_by_test_id("candle-chart").get_attribute("data-markers")
    assert markers is not None
    assert int(markers) >= trades.count()
    expect(page).to_have_url(re.compile(r"/results\?run=\w+"))


def test_a_run_from_the_cli_is_listed_and_opens(page: Page, app_server: RunningApp) -> None:
    strategy = ROOT / "quanta" / "examples" / "sma_cross.py"
    command = [sys.executable, "-m", "quanta.cli", "backtest", str(strategy), "--symbol", "IBM", "--json"]
    done = subprocess.run(command, env=app_server.env, cwd=ROOT, capture_output=True, text=True, check=True)
    cli = json.loads(done.stdout)

    page.goto(f"{app_server.url}/results")
    row = page.get_by_test_id("run-row").filter(has_text="IBM").first
    row.click()

    expect(page.get_by_test_id("run-heading")).to_be_visible()
    expect(page).to_have_url(re.compile(re.escape(f"run={cli['run_id']}")))
    trade_count = page.get_by_test_id("stats-table").locator("tr", has_text="# Trades")
    expect(trade_count).to_contain_text(str(cli["# Trades"]))
