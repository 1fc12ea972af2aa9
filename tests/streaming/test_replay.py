"""Replayed and synthetic ticks: deterministic, through each bar's open/high/low/close, on the clock."""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np
import pyarrow as pa
import pytest

from quanta.streaming import Tick, day_ms, replay_ticks, synthetic_market_bars, synthetic_ticks_live
from tests.streaming.conftest import ORIGIN


def by_day(ticks: list[Tick], period: int) -> dict[tuple[str, int], list[Tick]]:
    days: dict[tuple[str, int], list[Tick]] = defaultdict(list)
    for t in ticks:
        days[(t.symbol, (t.ts - ORIGIN) // period)].append(t)
    return days


def test_same_bars_and_seed_give_the_same_ticks(two_symbols: pa.Table) -> None:
    first = list(replay_ticks(two_symbols, seed=11, origin_ms=ORIGIN))
    assert first == list(replay_ticks(two_symbols, seed=11, origin_ms=ORIGIN))
    assert first != list(replay_ticks(two_symbols, seed=12, origin_ms=ORIGIN))


def test_adding_a_symbol_leaves_the_other_symbols_ticks_unchanged(two_symbols: pa.Table) -> None:
    both = [t for t in replay_ticks(two_symbols, seed=5, origin_ms=ORIGIN) if t.symbol == "GOOG"]
    goog = two_symbols.filter(pa.compute.equal(two_symbols.column("symbol"), "GOOG"))
    assert both == list(replay_ticks(goog, seed=5, origin_ms=ORIGIN))


def test_each_day_runs_from_open_through_high_and_low_to_close(two_symbols: pa.Table) -> None:
    ticks = list(replay_ticks(two_symbols, seed=1, origin_ms=ORIGIN, ticks_per_bar=12))
    days = by_day(ticks, 1000)
    for row in two_symbols.to_pylist():
        # Both symbols trade on every one of these 300 days, so the day index is the row number.
        index = two_symbols.filter(pa.compute.equal(two_symbols.column("symbol"), row["symbol"])).column("ts")
        day = int(np.searchsorted(index.to_numpy(), np.datetime64(row["ts"])))
        path = days[(row["symbol"], day)]
        prices = [t.price for t in path]
        assert len(path) == 12
        assert (prices[0], prices[-1], max(prices), min(prices)) == (
            row["open"],
            row["close"],
            row["high"],
            row["low"],
        )
        assert sum(t.size for t in path) == row["volume"]
        low_first = prices.index(row["low"]) < prices.index(row["high"])
        assert low_first == (row["close"] >= row["open"])


def test_ticks_come_in_time_order_with_per_symbol_sequence_numbers(two_symbols: pa.Table) -> None:
    ticks = list(replay_ticks(two_symbols, seed=1, origin_ms=ORIGIN))
    assert [t.ts for t in ticks] == sorted(t.ts for t in ticks)
    for symbol in ("GOOG", "AAPL"):
        assert [t.seq for t in ticks if t.symbol == symbol] == list(range(300 * 16))


@pytest.mark.parametrize(("speed", "period"), [(1.0, 1000), (10.0, 100), (0.5, 2000), (1 / 60, 60_000)])
def test_speed_is_trading_days_per_second(two_symbols: pa.Table, speed: float, period: int) -> None:
    assert day_ms(speed) == period
    ticks = list(itertools.islice(replay_ticks(two_symbols, seed=1, origin_ms=ORIGIN, speed=speed), 64))
    days = by_day(ticks, period)
    assert {len(day) for day in days.values()} == {16}
    assert ticks[-1].ts < ORIGIN + 2 * period


@pytest.mark.parametrize("speed", [0.0, -1.0, 2000.0])
def test_impossible_speeds_are_refused(speed: float) -> None:
    with pytest.raises(ValueError, match="speed"):
        day_ms(speed)


def test_synthetic_market_is_seeded_per_symbol() -> None:
    a = list(itertools.islice(synthetic_ticks_live(["AAA", "BBB"], seed=3, origin_ms=ORIGIN, days=50), 500))
    b = list(itertools.islice(synthetic_ticks_live(["AAA", "BBB"], seed=3, origin_ms=ORIGIN, days=50), 500))
    assert a == b
    assert {t.symbol for t in a} == {"AAA", "BBB"}
    bars = synthetic_market_bars(["AAA"], seed=3, days=50)
    assert bars.num_rows == 50
    aaa = synthetic_market_bars(["AAA", "BBB"], seed=3, days=50)
    assert aaa.filter(pa.compute.equal(aaa.column("symbol"), "AAA")).equals(bars)
