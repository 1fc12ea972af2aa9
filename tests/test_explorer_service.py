"""The explorer's services on real bundled data, on DuckDB and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import date

import numpy as np
import pytest
from ibis.backends import BaseBackend

from quanta import explorer
from quanta.explorer import BarsQuery, ExplorerError, Overlay
from quanta.indicators import BBANDS, SMA
from quanta.testing.sample_data import bokeh_stock


def test_chart_overlays_are_computed_on_the_whole_history_then_cut_to_the_range(
    bundled_con: BaseBackend,
) -> None:
    goog = bokeh_stock("GOOG")
    query = BarsQuery(symbol="GOOG", start=date(2010, 1, 1), end=date(2010, 12, 31))

    view = explorer.chart_view(
        bundled_con, query, [Overlay(kind="SMA", period=50), Overlay(kind="BBANDS", period=20)]
    )

    in_range = (goog["ts"].dt.year == 2010).to_numpy()
    closes = goog["close"].to_numpy()
    assert view.row_count == int(in_range.sum())
    assert view.bars["c"] == pytest.approx(closes[in_range].tolist())
    sma = view.overlays[0]["values"]
    assert sma == pytest.approx(np.round(SMA(closes, timeperiod=50)[in_range], 6).tolist())
    assert None not in sma  # the warm-up lies before the range
    upper = BBANDS(closes, timeperiod=20)[0][in_range]
    assert view.overlays[1]["values"] == pytest.approx(np.round(upper, 6).tolist())
    assert [line["name"] for line in view.overlays] == [
        "SMA(50)",
        "BBANDS(20) upper",
        "BBANDS(20) mid",
        "BBANDS(20) lower",
    ]


def test_summary_figures_describe_the_range(bundled_con: BaseBackend) -> None:
    view = explorer.chart_view(bundled_con, BarsQuery(symbol="IBM", timeframe="1M"), [])
    opens, closes = view.bars["o"], view.bars["c"]

    assert view.change_pct == pytest.approx((closes[-1] / opens[0] - 1) * 100)
    assert view.period_high == max(view.bars["h"])


def test_csv_export_has_a_header_and_the_range_oldest_first(bundled_con: BaseBackend) -> None:
    query = BarsQuery(symbol="GOOG", timeframe="1W", start=date(2012, 1, 1), end=date(2012, 3, 31))

    rows = list(csv.DictReader(io.StringIO(explorer.bars_csv(bundled_con, query))))

    assert list(rows[0]) == ["date", "open", "high", "low", "close", "volume"]
    assert [row["date"] for row in rows] == sorted(row["date"] for row in rows)
    assert rows[0]["date"] >= "2012-01-01"
    assert rows[-1]["date"] <= "2012-03-31"


def test_pages_are_newest_first_and_do_not_overlap(bundled_con: BaseBackend) -> None:
    query = BarsQuery(symbol="AAPL")

    first = explorer.bars_page(bundled_con, query, page=0, page_size=10)
    second = explorer.bars_page(bundled_con, query, page=1, page_size=10)

    dates = [row["date"] for row in first + second]
    assert dates == sorted(dates, reverse=True)
    assert len(set(dates)) == 20


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: BarsQuery(symbol="GOOG", timeframe="5m"), "unknown timeframe"),  # type: ignore[arg-type]
        (lambda: BarsQuery(symbol="GOOG", start=date(2012, 1, 2), end=date(2011, 1, 1)), "after the end"),
        (lambda: Overlay(kind="SMA", period=1), "between 2 and 500"),
        (lambda: explorer.parse_day("2012-13-40"), "not a date"),
    ],
)
def test_bad_requests_get_a_message_for_the_person(make: object, message: str) -> None:
    with pytest.raises(ExplorerError, match=message):
        make()  # type: ignore[operator]
