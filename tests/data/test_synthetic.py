"""The synthetic generator: deterministic, valid OHLC by construction, chunked in constant size."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ibis.backends import BaseBackend

from quanta.data import (
    DataValidationError,
    bar_count,
    bars,
    instruments,
    store_synthetic,
    synthetic_bars,
    synthetic_ticks,
)
from quanta.data.validation import VALUE_RULES, count_broken


def _frame(n: int, **options: object) -> pl.DataFrame:
    return pl.concat([pl.from_arrow(chunk) for chunk in synthetic_bars(n, **options)])  # type: ignore[arg-type, misc]


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 3000),
    seed=st.integers(0, 2**32),
    chunk_a=st.integers(1, 4000),
    chunk_b=st.integers(1, 4000),
    freq=st.sampled_from(["1D", "1h", "5min", "30s"]),
)
def test_same_seed_same_bars_whatever_the_chunk_size(
    n: int, seed: int, chunk_a: int, chunk_b: int, freq: str
) -> None:
    first = _frame(n, seed=seed, chunk_size=chunk_a, freq=freq)
    second = _frame(n, seed=seed, chunk_size=chunk_b, freq=freq)
    assert first.equals(second)
    assert first.height == n


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 5000), seed=st.integers(0, 2**32), price=st.floats(0.01, 1e5))
def test_bars_obey_every_stored_rule(n: int, seed: int, price: float) -> None:
    frame = _frame(n, seed=seed, start_price=price)
    assert count_broken(frame, VALUE_RULES) == {}
    assert frame["ts"].is_sorted()
    assert frame["ts"].n_unique() == n


def test_different_seeds_give_different_paths() -> None:
    assert not _frame(100, seed=1)["close"].equals(_frame(100, seed=2)["close"])


def test_chunks_have_a_constant_size_and_the_bars_schema() -> None:
    chunks = list(synthetic_bars(10_500, seed=7, chunk_size=1_000, freq="1min"))
    assert [c.num_rows for c in chunks] == [1_000] * 10 + [500]
    assert all(c.schema == chunks[0].schema for c in chunks)
    assert chunks[0].schema.field("ts").type == pa.timestamp("us")


def test_daily_bars_fall_on_business_days() -> None:
    frame = _frame(30, seed=1, start=datetime(2024, 1, 6))  # a Saturday
    assert frame["ts"][0] == datetime(2024, 1, 8)
    assert frame["ts"].dt.weekday().max() <= 5


def test_regimes_change_volatility() -> None:
    frame = _frame(50_000, seed=3)
    moves = frame.select((pl.col("close").log().diff().abs()).alias("r"))["r"].drop_nulls().to_numpy()
    rolling = np.convolve(moves, np.ones(50) / 50, mode="valid")
    assert rolling.max() > 2.5 * rolling.min()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"freq": "2weeks"}, "unknown bar frequency"),
        ({"freq": "0D"}, "unknown bar frequency"),
        ({"start_price": 0.0}, "start_price > 0"),
        ({"chunk_size": 0}, "chunk_size > 0"),
    ],
)
def test_bad_options_are_rejected(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        next(synthetic_bars(10, seed=1, **options))  # type: ignore[arg-type]


def test_timestamps_must_stay_within_the_usable_range() -> None:
    with pytest.raises(ValueError, match="would end after 2262"):
        next(synthetic_bars(1_000_000, seed=1, freq="1D"))


def test_stored_synthetic_bars_equal_the_generated_ones(market_con: BaseBackend) -> None:
    progress: list[int] = []
    count = store_synthetic(
        market_con,
        symbol="SYN",
        n=2_500,
        seed=5,
        freq="1h",
        chunk_size=1_000,
        progress=lambda done, _: progress.append(done),
    )
    assert count == 2_500 == bar_count(market_con, "SYN")
    assert progress == [1_000, 2_000, 2_500]
    stored = bars(market_con, "SYN", timeframe=None).execute()
    expected = _frame(2_500, seed=5, freq="1h").to_pandas()
    assert np.array_equal(stored["close"].to_numpy(), expected["close"].to_numpy())
    row = instruments(market_con).execute().iloc[0]
    assert (row["source_package"], row["asset_class"], row["bar_count"]) == (
        "quanta.synthetic",
        "synthetic",
        2_500,
    )
    assert "seed=5" in row["source_note"]


def test_storing_over_an_existing_symbol_needs_replace(market_con: BaseBackend) -> None:
    store_synthetic(market_con, symbol="SYN", n=10, seed=1)
    with pytest.raises(DataValidationError, match="already exists"):
        store_synthetic(market_con, symbol="SYN", n=10, seed=1)
    store_synthetic(market_con, symbol="SYN", n=20, seed=2, replace=True)
    assert bar_count(market_con) == 20


def _ticks(bars_table: pa.Table, **options: object) -> pl.DataFrame:
    return pl.concat([pl.from_arrow(t) for t in synthetic_ticks(bars_table, **options)])  # type: ignore[arg-type, misc]


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32), n_ticks=st.integers(4, 60), n_bars=st.integers(1, 40))
def test_ticks_pass_through_open_high_low_close(seed: int, n_ticks: int, n_bars: int) -> None:
    source = pa.concat_tables(synthetic_bars(n_bars, seed=seed, freq="1min"))
    ticks = _ticks(source, seed=seed, ticks_per_bar=n_ticks, chunk_bars=7, bar_duration=timedelta(minutes=1))
    per_bar = (
        ticks.with_columns(bar=pl.int_range(pl.len()) // n_ticks)
        .group_by("bar", maintain_order=True)
        .agg(
            open=pl.col("price").first(),
            high=pl.col("price").max(),
            low=pl.col("price").min(),
            close=pl.col("price").last(),
            volume=pl.col("size").sum(),
            start=pl.col("ts").min(),
            end=pl.col("ts").max(),
        )
    )
    expected = pl.from_arrow(source)
    assert isinstance(expected, pl.DataFrame)
    for column in ("open", "high", "low", "close", "volume"):
        assert per_bar[column].to_list() == expected[column].to_list(), column
    assert per_bar["start"].to_list() == expected["ts"].to_list()
    assert (per_bar["end"] < expected["ts"] + timedelta(minutes=1)).all()
    assert ticks["ts"].is_sorted()


def test_ticks_are_deterministic_and_chunking_does_not_matter() -> None:
    source = pa.concat_tables(synthetic_bars(50, seed=1))
    a = _ticks(source, seed=9, chunk_bars=50)
    b = _ticks(source, seed=9, chunk_bars=3)
    assert a.equals(b)
    assert not a.equals(_ticks(source, seed=10))


def test_ticks_need_room_for_four_anchors() -> None:
    with pytest.raises(ValueError, match="at least 4"):
        next(synthetic_ticks(pa.concat_tables(synthetic_bars(2, seed=1)), seed=1, ticks_per_bar=3))
