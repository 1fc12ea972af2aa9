"""Queries on the bundled data, checked against oracles computed independently with pandas."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest
from ibis.backends import BaseBackend

from quanta.data import UnknownSymbolError, bar_count, bars, date_range, returns, search_instruments
from quanta.testing.sample_data import at, bokeh_stock

OHLCV = ["open", "high", "low", "close", "volume", "adj_close"]


def _resample_oracle(daily: pd.DataFrame, rule: str) -> pd.DataFrame:
    """pandas' own resampling, labelled by each bucket's first trading day."""
    frame = daily.set_index("ts")
    agg = frame.resample(rule).agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum", "adj_close": "last"}
    )
    first_day = frame.index.to_series().resample(rule).min()
    agg.index = first_day.reindex(agg.index).to_numpy()
    return agg.dropna(subset=["open"]).rename_axis("ts").reset_index()


@pytest.mark.parametrize(("timeframe", "rule"), [("1W", "W-SUN"), ("1M", "MS")])
def test_resampled_bars_match_pandas(bundled_con: BaseBackend, timeframe: str, rule: str) -> None:
    expected = _resample_oracle(bokeh_stock("AAPL"), rule)
    actual = bars(bundled_con, "AAPL", timeframe=timeframe).execute()  # type: ignore[arg-type]
    assert (actual["symbol"] == "AAPL").all()
    pd.testing.assert_frame_equal(actual[["ts", *OHLCV]], expected[["ts", *OHLCV]], check_dtype=False)


def test_weekly_bars_are_labelled_by_the_first_trading_day(bundled_con: BaseBackend) -> None:
    weeks = bars(bundled_con, "AAPL", "2010-01-18", "2010-01-22", timeframe="1W").execute()
    assert list(weeks["ts"]) == [pd.Timestamp("2010-01-19")]  # Monday 18th was a holiday


def test_daily_timeframe_returns_the_stored_bars(bundled_con: BaseBackend) -> None:
    daily = bars(bundled_con, "GOOG", timeframe="1D").execute()
    stored = bars(bundled_con, "GOOG", timeframe=None).execute()
    pd.testing.assert_frame_equal(daily, stored)
    assert daily["ts"].is_monotonic_increasing


def test_range_is_inclusive_and_a_date_end_covers_the_day(bundled_con: BaseBackend) -> None:
    frame = bars(bundled_con, "IBM", date(2010, 1, 4), date(2010, 1, 8)).execute()
    assert list(frame["ts"].dt.day) == [4, 5, 6, 7, 8]
    as_text = bars(bundled_con, "IBM", "2010-01-04", "2010-01-08").execute()
    pd.testing.assert_frame_equal(frame, as_text)
    before_midnight = bars(bundled_con, "IBM", datetime(2010, 1, 4, 0, 0, 1), datetime(2010, 1, 7)).execute()
    assert list(before_midnight["ts"].dt.day) == [5, 6, 7]


def test_an_empty_range_gives_an_empty_table(bundled_con: BaseBackend) -> None:
    frame = bars(bundled_con, "FB", "1990-01-01", "1990-12-31").execute()
    assert frame.empty
    assert list(frame.columns) == ["symbol", "ts", *OHLCV]
    assert bars(bundled_con, "FB", "2013-01-10", "2013-01-01", timeframe="1M").execute().empty


def test_returns_match_pandas_pct_change(bundled_con: BaseBackend) -> None:
    raw = bokeh_stock("MSFT").set_index("ts")["close"]
    expected = raw.pct_change().loc["2005-01-01":"2005-12-31"]
    actual = returns(bundled_con, "MSFT", "2005-01-01", "2005-12-31").execute().set_index("ts")["return"]
    pd.testing.assert_series_equal(
        actual, expected, check_names=False, check_freq=False, check_index_type=False
    )


def test_returns_leave_out_the_first_bar(bundled_con: BaseBackend) -> None:
    frame = returns(bundled_con, "FB", timeframe="1M").execute()
    assert frame["ts"].iloc[0] == pd.Timestamp("2012-06-01")
    assert frame["return"].notna().all()


def test_date_range_and_bar_count(bundled_con: BaseBackend) -> None:
    assert date_range(bundled_con, "FB") == (at("2012-05-18"), at("2013-03-01"))
    assert bar_count(bundled_con, "FB") == 196


def test_search_puts_the_exact_symbol_first_and_ignores_case(bundled_con: BaseBackend) -> None:
    found = search_instruments(bundled_con, "msft").execute()
    assert list(found["symbol"]) == ["MSFT", "MSFT.PMD"]
    by_name = search_instruments(bundled_con, "APPLE").execute()
    assert "AAPL" in set(by_name["symbol"])
    assert len(search_instruments(bundled_con, "a", limit=7).execute()) == 7
    assert search_instruments(bundled_con, "zzzz-no-match").execute().empty


def test_search_ranks_prefixes_before_other_matches(bundled_con: BaseBackend) -> None:
    symbols = list(search_instruments(bundled_con, "IB", limit=50).execute()["symbol"])
    prefixed = [s for s in symbols if s.startswith("IB")]
    assert symbols[: len(prefixed)] == prefixed


def test_unknown_symbol_raises_with_a_hint(bundled_con: BaseBackend) -> None:
    with pytest.raises(UnknownSymbolError, match=r"unknown symbol 'APPL'; did you mean 'AAPL'") as caught:
        bars(bundled_con, "APPL")
    assert caught.value.suggestions[0] == "AAPL"
    with pytest.raises(UnknownSymbolError):
        returns(bundled_con, "NOPE")
    with pytest.raises(UnknownSymbolError):
        date_range(bundled_con, "NOPE")


def test_unknown_symbol_on_an_empty_store_says_how_to_load(market_con: BaseBackend) -> None:
    with pytest.raises(UnknownSymbolError, match="quanta data load"):
        bar_count(market_con, "AAPL")


def test_an_unknown_timeframe_is_rejected(bundled_con: BaseBackend) -> None:
    with pytest.raises(ValueError, match="unknown timeframe '5m'"):
        bars(bundled_con, "AAPL", timeframe="5m")  # type: ignore[arg-type]
