"""The importer accepts good CSV and Parquet files and rejects every broken rule, writing nothing."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
import pytest
from ibis.backends import BaseBackend

from quanta.data import DataValidationError, bar_count, bars, import_bytes, import_file, instruments
from quanta.testing.sample_data import csv_bytes, ohlcv_csv, tiny_bars

GOOD = [
    ["2024-01-02", 10, 11, 9, 10.5, 100],
    ["2024-01-03", 10.5, 11, 10, 11, 200],
    ["2024-01-04", 11, 12, 10.5, 11.5, 0],
]


def _with(row: int, values: list[object]) -> bytes:
    """GOOD with data row ``row`` (1-based) replaced."""
    rows = [list(r) for r in GOOD]
    rows[row - 1] = values
    return csv_bytes(rows)


BAD_INPUTS = {
    "high below close": (
        _with(2, ["2024-01-03", 10.5, 10.8, 10, 11, 200]),
        "row 2: high 10.8 is below close 11 (high must be ≥ max(open, close))",
    ),
    "high below open": (_with(1, ["2024-01-02", 12, 11, 9, 10.5, 100]), "row 1: high 11 is below open 12"),
    "low above open": (_with(3, ["2024-01-04", 11, 12, 11.2, 11.5, 0]), "row 3: low 11.2 is above open 11"),
    "low above close": (
        _with(1, ["2024-01-02", 10.3, 11, 10.2, 10.1, 100]),
        "row 1: low 10.2 is above close 10.1",
    ),
    "negative price": (
        _with(2, ["2024-01-03", -1, 11, 10, 11, 200]),
        "row 2: open -1 is not a positive number",
    ),
    "zero price": (_with(2, ["2024-01-03", 10.5, 11, 0, 11, 200]), "row 2: low 0 is not a positive number"),
    "infinite price": (
        _with(3, ["2024-01-04", 11, "inf", 10.5, 11.5, 0]),
        "row 3: high inf is not a positive",
    ),
    "nan price": (_with(3, ["2024-01-04", 11, 12, 10.5, "NaN", 0]), "row 3: close nan is not a positive"),
    "negative volume": (
        _with(1, ["2024-01-02", 10, 11, 9, 10.5, -5]),
        "row 1: volume -5 is not a number ≥ 0",
    ),
    "not a number": (_with(2, ["2024-01-03", 10.5, "abc", 10, 11, 200]), "row 2: high 'abc' is not a number"),
    "missing value": (_with(3, ["2024-01-04", 11, 12, 10.5, None, 0]), "row 3: close is missing"),
    "bad timestamp": (
        _with(2, ["2024-02-30", 10.5, 11, 10, 11, 200]),
        "row 2: timestamp '2024-02-30' is not a date",
    ),
    "duplicate timestamp": (
        _with(3, ["2024-01-03", 11, 12, 10.5, 11.5, 0]),
        "row 3: timestamp 2024-01-03 00:00:00 repeats the row before (timestamps must be unique)",
    ),
    "unsorted timestamps": (
        _with(3, ["2024-01-01", 11, 12, 10.5, 11.5, 0]),
        "row 3: timestamp 2024-01-01 00:00:00 is before the row before's 2024-01-03",
    ),
    "missing column": (
        csv_bytes([r[:5] for r in GOOD], header=("date", "open", "high", "low", "close")),
        "missing required column(s) volume",
    ),
    "ambiguous column": (
        csv_bytes(
            [[r[0], *r] for r in GOOD], header=("date", "timestamp", "open", "high", "low", "close", "volume")
        ),
        "columns 'date' and 'timestamp' both look like ts",
    ),
    "no rows": (csv_bytes([]), "no data rows"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_a_broken_rule_is_named_with_its_row_and_nothing_is_written(
    market_con: BaseBackend, case: str
) -> None:
    data, expected = BAD_INPUTS[case]
    with pytest.raises(DataValidationError) as caught:
        import_bytes(market_con, data, "prices.csv", symbol="NEW")
    assert expected in str(caught.value)
    assert str(caught.value).startswith("prices.csv: ")
    assert instruments(market_con).count().execute() == 0
    assert bar_count(market_con) == 0


def test_several_problems_are_reported_up_to_a_limit(market_con: BaseBackend) -> None:
    rows = [[f"2024-01-{d:02d}", 10, 9, 9, 10.5, 100] for d in range(1, 21)]
    with pytest.raises(DataValidationError) as caught:
        import_bytes(market_con, csv_bytes(rows), "many.csv", symbol="NEW")
    assert "20 problems" in str(caught.value)
    assert [p.split(":")[0] for p in caught.value.problems] == [f"row {i}" for i in range(1, 6)]
    assert "… and 15 more" in str(caught.value)


def test_a_failed_replace_keeps_the_old_bars(market_con: BaseBackend) -> None:
    import_bytes(market_con, csv_bytes(GOOD), "v1.csv", symbol="KEEP")
    with pytest.raises(DataValidationError):
        import_bytes(
            market_con,
            _with(2, ["2024-01-03", 10.5, 10.8, 10, 11, 200]),
            "v2.csv",
            symbol="KEEP",
            replace=True,
        )
    assert bar_count(market_con, "KEEP") == 3
    assert instruments(market_con).execute()["source_package"].tolist() == ["upload:v1.csv"]


def test_a_good_csv_is_stored_with_provenance(market_con: BaseBackend) -> None:
    report = import_bytes(market_con, csv_bytes(GOOD), "my prices.csv", symbol="MINE", name="My stock")
    assert (report.symbol, report.rows, report.source) == ("MINE", 3, "upload:my prices.csv")
    stored = bars(market_con, "MINE", timeframe=None).execute()
    assert stored["close"].tolist() == [10.5, 11, 11.5]
    assert stored["volume"].tolist() == [100, 200, 0]
    row = instruments(market_con).execute().iloc[0]
    assert (row["name"], row["source_package"], row["bar_count"]) == ("My stock", "upload:my prices.csv", 3)


def test_column_spellings_and_extra_columns_are_accepted(market_con: BaseBackend) -> None:
    frame = tiny_bars(4).with_columns(adj_close=pl.col("close") * 0.5)
    spelling = {
        "ts": "DateTime",
        "open": "OPEN",
        "high": "High",
        "low": "low",
        "close": "Close",
        "volume": "Vol",
    }
    data = ohlcv_csv(frame, columns={**spelling, "adj_close": "Adj Close"})
    data = data.replace(b"\n", b",x\n").replace(b"Adj Close,x", b"Adj Close,Ticker", 1)
    import_bytes(market_con, data, "spelled.CSV", symbol="SPELL")
    stored = bars(market_con, "SPELL", timeframe=None).execute()
    assert stored["adj_close"].tolist() == (frame["close"] * 0.5).to_list()


@pytest.mark.parametrize(
    ("stamps", "expected"),
    [
        (["1/4/1999", "1/5/1999"], ["1999-01-04", "1999-01-05"]),
        (["20090821", "20090824"], ["2009-08-21", "2009-08-24"]),
        (["2020-01-02 09:30:00", "2020-01-02 09:31:00"], ["2020-01-02 09:30:00", "2020-01-02 09:31:00"]),
        (
            ["2020-01-02T09:30:00+01:00", "2020-01-02T09:31:00Z"],
            ["2020-01-02 08:30:00", "2020-01-02 09:31:00"],
        ),
    ],
)
def test_common_timestamp_formats_are_parsed_as_utc(
    market_con: BaseBackend, stamps: list[str], expected: list[str]
) -> None:
    rows = [[stamp, 10, 11, 9, 10.5, 100] for stamp in stamps]
    import_bytes(market_con, csv_bytes(rows), "t.csv", symbol="TS")
    stored = bars(market_con, "TS", timeframe=None).execute()
    assert [str(ts) for ts in stored["ts"]] == [str(pl.Series([e]).str.to_datetime()[0]) for e in expected]


def test_a_good_parquet_file_is_stored(market_con: BaseBackend, tmp_path: Path) -> None:
    frame = tiny_bars(6).rename({"ts": "timestamp"}).drop("symbol", "adj_close")
    path = tmp_path / "bars.parquet"
    frame.write_parquet(path)
    report = import_file(market_con, path, symbol="PQ")
    assert report.rows == 6
    stored = bars(market_con, "PQ", timeframe=None).execute()
    assert stored["close"].tolist() == frame["close"].to_list()


def test_a_bad_parquet_file_names_the_row(market_con: BaseBackend) -> None:
    frame = tiny_bars(3).with_columns(volume=pl.Series([1.0, -2.0, 3.0]))
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    with pytest.raises(DataValidationError, match="row 2: volume -2 is not a number ≥ 0"):
        import_bytes(market_con, buffer.getvalue(), "b.parquet", symbol="PQ")
    assert bar_count(market_con) == 0


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"not parquet", "x.parquet", "cannot read the file"),
        (b"\x00\x01", "x.xlsx", "unsupported file type"),
    ],
)
def test_unreadable_files_are_rejected(
    market_con: BaseBackend, data: bytes, filename: str, message: str
) -> None:
    with pytest.raises(DataValidationError, match=message):
        import_bytes(market_con, data, filename, symbol="X")


@pytest.mark.parametrize(
    "symbol", ["", "has space", "semi;colon", "x" * 33, "'; DROP TABLE bars; --", "../etc"]
)
def test_unsafe_symbols_are_rejected(market_con: BaseBackend, symbol: str) -> None:
    with pytest.raises(DataValidationError, match="is not allowed"):
        import_bytes(market_con, csv_bytes(GOOD), "ok.csv", symbol=symbol)


def test_an_existing_symbol_is_only_replaced_when_asked(market_con: BaseBackend) -> None:
    import_bytes(market_con, csv_bytes(GOOD), "a.csv", symbol="DUP")
    with pytest.raises(DataValidationError, match="already exists"):
        import_bytes(market_con, csv_bytes(GOOD[:2]), "b.csv", symbol="DUP")
    import_bytes(market_con, csv_bytes(GOOD[:2]), "b.csv", symbol="DUP", replace=True)
    assert bar_count(market_con, "DUP") == 2
    assert bar_count(market_con) == 2


def test_import_file_reports_a_missing_file(market_con: BaseBackend, tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="cannot read"):
        import_file(market_con, tmp_path / "absent.csv", symbol="X")
