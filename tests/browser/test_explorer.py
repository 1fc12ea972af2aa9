"""The market explorer in a real browser: what a person sees and can do."""

from __future__ import annotations

import csv
import gzip
import io
import re
from importlib.metadata import distribution
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from quanta.testing.app_server import RunningApp

pytestmark = pytest.mark.browser


def goog_source_rows() -> list[dict[str, str]]:
    """GOOG's rows straight from the file bokeh-sampledata ships: the oracle the app must agree with."""
    path = Path(str(distribution("bokeh-sampledata").locate_file("bokeh_sampledata/_data/stocks.csv.gz")))
    with gzip.open(path, "rt") as handle:
        return [row for row in csv.DictReader(handle) if row["Ticker"] == "GOOG"]


def open_symbol(page: Page, app: RunningApp, symbol: str) -> None:
    page.goto(f"{app.url}/markets?symbol={symbol}")
    expect(page.get_by_test_id("symbol-heading")).to_have_text(symbol)


def chart_bar_count(page: Page) -> int:
    chart = page.get_by_test_id("candle-chart")
    expect(chart).to_have_attribute("data-bars", re.compile(r"^[1-9]\d*$"))
    return int(chart.get_attribute("data-bars") or 0)


def test_explorer_loads_goog_and_draws_the_chart(page: Page, app_server: RunningApp) -> None:
    open_symbol(page, app_server, "GOOG")

    assert chart_bar_count(page) == len(goog_source_rows())
    canvas = page.get_by_test_id("candle-chart").locator("canvas").first
    box = canvas.bounding_box()
    assert box is not None
    assert box["width"] > 300
    assert box["height"] > 200
    expect(page.get_by_test_id("provenance")).to_contain_text("bokeh-sampledata")


def test_timeframe_switch_resamples_bars(page: Page, app_server: RunningApp) -> None:
    open_symbol(page, app_server, "GOOG")
    daily = chart_bar_count(page)
    weeks = {tuple(_iso_week(row["Date"])) for row in goog_source_rows()}
    months = {row["Date"][:7] for row in goog_source_rows()}

    page.get_by_role("radio", name="1W").click()
    expect(page.get_by_test_id("candle-chart")).to_have_attribute("data-bars", str(len(weeks)))
    page.get_by_role("radio", name="1M").click()
    expect(page.get_by_test_id("candle-chart")).to_have_attribute("data-bars", str(len(months)))
    assert len(months) < len(weeks) < daily


def test_csv_export_downloads_the_visible_range(page: Page, app_server: RunningApp) -> None:
    open_symbol(page, app_server, "GOOG")
    expected = [row for row in goog_source_rows() if row["Date"].startswith("2010-")]

    form = page.get_by_test_id("range-form")
    form.get_by_label("Start date").fill("2010-01-01")
    form.get_by_label("End date").fill("2010-12-31")
    form.get_by_role("button", name="Apply").click()
    expect(page.get_by_test_id("candle-chart")).to_have_attribute("data-bars", str(len(expected)))
    with page.expect_download() as download_info:
        page.get_by_test_id("export-csv").click()
    text = Path(download_info.value.path()).read_text()

    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["date"] for row in rows] == [row["Date"] for row in expected]
    assert [float(row["close"]) for row in rows] == [float(row["Close"]) for row in expected]
    expect(page.get_by_test_id("page-label")).to_contain_text(f"{len(expected)} bars")


def test_bad_upload_shows_the_row_and_rule_and_stores_nothing(
    page: Page, app_server: RunningApp, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "date,open,high,low,close,volume\n2024-01-02,10,11,9,10.5,100\n2024-01-03,10.5,10.6,9.5,10.9,100\n"
    )
    open_symbol(page, app_server, "GOOG")

    _upload(page, "BADCO", bad)

    expect(page.get_by_test_id("upload-error")).to_contain_text("row 2")
    expect(page.get_by_test_id("upload-error")).to_contain_text("high")
    expect(page.get_by_test_id("upload-history")).to_contain_text("BADCO · bad.csv · refused")
    page.get_by_role("button", name="Close").click()
    page.get_by_test_id("instrument-search").fill("BADCO")
    expect(page.get_by_test_id("instrument-match")).to_have_count(0)


def test_good_upload_opens_the_new_instrument(page: Page, app_server: RunningApp, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(
        "Date,Open,High,Low,Close,Volume\n"
        "2024-01-02,10,11,9,10.5,100\n"
        "2024-01-03,10.5,11.2,10.1,11,150\n"
        "2024-01-04,11,11.5,10.8,11.4,120\n"
    )
    open_symbol(page, app_server, "GOOG")

    _upload(page, "GOODCO", good)

    expect(page.get_by_test_id("upload-ok")).to_contain_text("3 bars")
    expect(page.get_by_test_id("upload-history")).to_contain_text("GOODCO · good.csv · 3 bars")
    page.get_by_role("button", name="Close").click()
    expect(page.get_by_test_id("symbol-heading")).to_have_text("GOODCO")
    expect(page.get_by_test_id("candle-chart")).to_have_attribute("data-bars", "3")


def test_search_finds_instruments_by_name(page: Page, app_server: RunningApp) -> None:
    open_symbol(page, app_server, "GOOG")

    page.get_by_test_id("instrument-search").fill("international")
    match = page.get_by_test_id("instrument-match").filter(has_text="IBM").first
    match.click()

    expect(page.get_by_test_id("symbol-heading")).to_have_text("IBM")


def test_theme_switch_toggles_dark_mode(page: Page, app_server: RunningApp) -> None:
    open_symbol(page, app_server, "GOOG")
    html = page.locator("html")
    before = html.get_attribute("class") or ""

    page.get_by_label("Switch light/dark theme").click()

    expect(html).not_to_have_class(before)


def _upload(page: Page, symbol: str, path: Path) -> None:
    page.get_by_test_id("open-upload").click()
    page.get_by_test_id("upload-symbol").fill(symbol)
    page.locator("input[type=file]").set_input_files(str(path))
    page.get_by_test_id("upload-submit").click()


def _iso_week(day: str) -> tuple[int, int]:
    from datetime import date

    year, week, _ = date.fromisoformat(day).isocalendar()
    return year, week
