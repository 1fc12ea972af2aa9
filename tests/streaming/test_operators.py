"""Event-time bars: windows, watermarks, allowed lateness, dead letters, indicators equal to batch."""

from __future__ import annotations

import copy
import dataclasses
import json
import random
from collections import defaultdict

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from quanta import indicators as batch
from quanta.streaming import (
    Bar,
    BarConfig,
    BarPipeline,
    DeadLetterReason,
    Tick,
    decode_tick,
    encode_tick,
    replay_ticks,
)
from tests.streaming.conftest import ORIGIN, bars_of, final_bars, letters_of, tick

NO_INDICATORS: tuple[str, ...] = ()


def pipeline(
    bound: int = 0, lateness: int = 0, *, indicators: tuple[str, ...] = NO_INDICATORS
) -> BarPipeline:
    return BarPipeline(
        BarConfig(
            intervals=("1s",), out_of_orderness_ms=bound, allowed_lateness_ms=lateness, indicators=indicators
        )
    )


def run(p: BarPipeline, ticks: list[Tick], *, flush: bool = True) -> list:
    out = [o for t in ticks for o in p.process(t)]
    return out + (p.flush() if flush else [])


def test_window_fires_when_a_tick_passes_its_end() -> None:
    p = pipeline()
    first = [tick(0, 10.0, 1), tick(300, 12.0, 2), tick(600, 9.0, 3), tick(999, 11.0, 4)]
    assert run(p, first, flush=False) == []
    (bar,) = bars_of(p.process(tick(1000, 11.5)))
    assert bar == Bar("X", "1s", ORIGIN, 10.0, 12.0, 9.0, 11.0, 10.0, 4, 0, {})


def test_out_of_orderness_bound_delays_firing() -> None:
    p = pipeline(bound=200)
    run(p, [tick(0, 10.0)], flush=False)
    assert p.process(tick(1199, 10.0)) == []
    assert [b.start for b in bars_of(p.process(tick(1200, 10.0)))] == [ORIGIN]


def test_open_and_close_follow_event_time_not_arrival() -> None:
    p = pipeline(bound=500)
    ticks = [tick(400, 2.0), tick(100, 1.0), tick(900, 4.0), tick(700, 3.0)]
    (bar,) = bars_of(run(p, ticks))
    assert (bar.open, bar.close, bar.high, bar.low) == (1.0, 4.0, 4.0, 1.0)


def test_same_time_ticks_are_ordered_by_sequence_number() -> None:
    p = pipeline(bound=500)
    ticks = [tick(5, 3.0, seq=2), tick(5, 1.0, seq=0), tick(5, 2.0, seq=1)]
    (bar,) = bars_of(run(p, ticks))
    assert (bar.open, bar.close) == (1.0, 3.0)


def test_late_tick_within_allowed_lateness_updates_the_bar() -> None:
    p = pipeline(lateness=1000)
    run(p, [tick(0, 10.0, 1), tick(900, 11.0, 1)], flush=False)
    (fired,) = bars_of(p.process(tick(1500, 12.0)))
    (update,) = p.process(tick(500, 20.0, 5))
    assert fired.rev == 0
    assert update == Bar("X", "1s", ORIGIN, 10.0, 20.0, 10.0, 11.0, 7.0, 3, 1, {})


def test_tick_after_allowed_lateness_goes_to_dead_letters_as_late() -> None:
    p = pipeline(lateness=1000)
    run(p, [tick(0, 10.0), tick(1500, 12.0), tick(2100, 12.0)], flush=False)
    late = tick(800, 99.0)
    (letter,) = p.process(late)
    assert letter.reason is DeadLetterReason.LATE
    assert decode_tick(letter.payload) == late
    assert "1s window ending" in letter.detail
    assert letter.key == "X"


def test_zero_lateness_drops_any_tick_for_a_fired_window() -> None:
    p = pipeline()
    run(p, [tick(0, 10.0), tick(1000, 10.0)], flush=False)
    assert [o.reason for o in p.process(tick(999, 10.0))] == [DeadLetterReason.LATE]


def test_late_tick_for_a_window_without_bar_fires_it_at_once() -> None:
    p = pipeline(lateness=1000)
    run(p, [tick(0, 10.0), tick(2500, 10.0)], flush=False)
    (bar,) = bars_of(p.process(tick(1500, 7.0)))
    assert (bar.start, bar.open, bar.rev) == (ORIGIN + 1000, 7.0, 0)


def test_late_tick_for_one_interval_still_updates_a_longer_one() -> None:
    p = BarPipeline(
        BarConfig(intervals=("1s", "1m"), out_of_orderness_ms=0, allowed_lateness_ms=0, indicators=())
    )
    run(p, [tick(0, 10.0), tick(1000, 11.0)], flush=False)
    out = p.process(tick(500, 50.0))
    assert [o.reason for o in letters_of(out)] == [DeadLetterReason.LATE]
    assert "1m" not in letters_of(out)[0].detail
    (minute,) = [bar for bar in bars_of(run(p, [])) if bar.interval == "1m"]
    assert (minute.high, minute.ticks) == (50.0, 3)


def test_watermarks_are_per_symbol() -> None:
    p = pipeline()
    run(p, [tick(0, 10.0, symbol="A")], flush=False)
    assert p.process(tick(5000, 20.0, symbol="B")) == []
    assert [b.symbol for b in bars_of(p.process(tick(1000, 10.0, symbol="A")))] == ["A"]


def test_flush_fires_every_open_window() -> None:
    p = pipeline(bound=10_000)
    out = run(p, [tick(0, 1.0), tick(1000, 2.0), tick(2000, 3.0)])
    assert [(b.start - ORIGIN, b.close) for b in bars_of(out)] == [(0, 1.0), (1000, 2.0), (2000, 3.0)]


def test_malformed_record_becomes_a_dead_letter_and_the_pipeline_goes_on() -> None:
    p = pipeline()
    (letter,) = p.process_record(b'{"v":1,"s":"X","t":1}', key="X")
    assert (letter.reason, letter.payload, letter.key) == (
        DeadLetterReason.MALFORMED,
        b'{"v":1,"s":"X","t":1}',
        "X",
    )
    assert "'p'" in letter.detail
    assert p.process_record(encode_tick(tick(0, 1.0))) == []


def test_record_of_a_newer_schema_becomes_an_unsupported_version_dead_letter() -> None:
    record = json.dumps({"v": 2, "symbol": "X"}).encode()
    (letter,) = pipeline().process_record(record)
    assert letter.reason is DeadLetterReason.UNSUPPORTED_VERSION


def ordered_ticks(count: int, seed: int) -> list[Tick]:
    rng = random.Random(seed)
    ts, out = 0, []
    for seq in range(count):
        ts += rng.choice([0, 1, 7, 50, 400, 1300])
        out.append(
            Tick(rng.choice("AB"), ORIGIN + ts, round(rng.uniform(1, 100), 2), float(rng.randint(0, 9)), seq)
        )
    return out


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6), bound=st.sampled_from([0, 50, 500, 2000]))
def test_disorder_within_the_bound_gives_the_same_bars(seed: int, bound: int) -> None:
    ordered = ordered_ticks(300, seed)
    rng = random.Random(seed)
    arrival = sorted(ordered, key=lambda t: t.ts + rng.randint(0, bound))
    config = BarConfig(intervals=("1s", "1m"), out_of_orderness_ms=bound, allowed_lateness_ms=0)
    expected = bars_of(run(BarPipeline(config), ordered))
    got = run(BarPipeline(config), arrival)
    assert letters_of(got) == []
    for symbol in "AB":
        for interval in ("1s", "1m"):
            mine = [b for b in bars_of(got) if (b.symbol, b.interval) == (symbol, interval)]
            assert mine == [b for b in expected if (b.symbol, b.interval) == (symbol, interval)]


def reference_bars(ticks: list[Tick], width: int) -> dict[int, tuple[float, ...]]:
    windows: dict[int, list[Tick]] = defaultdict(list)
    for t in ticks:
        windows[t.ts - t.ts % width].append(t)
    out = {}
    for start, members in windows.items():
        by_time = sorted(members, key=lambda t: (t.ts, t.seq))
        prices = [t.price for t in members]
        volume = float(sum(t.size for t in members))
        out[start] = (by_time[0].price, max(prices), min(prices), by_time[-1].price, volume, len(members))
    return out


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6), lateness=st.sampled_from([0, 700, 3000]))
def test_late_updates_leave_bars_and_indicators_equal_to_batch_on_the_used_ticks(
    seed: int, lateness: int
) -> None:
    rng = random.Random(seed)
    ordered = [t for t in ordered_ticks(400, seed) if t.symbol == "A"]
    arrival = sorted(ordered, key=lambda t: t.ts + rng.choice([0, 0, 0, 300, 1500, 4000]))
    config = BarConfig(
        intervals=("1s",),
        out_of_orderness_ms=100,
        allowed_lateness_ms=lateness,
        indicators=("SMA:3", "EMA:4", "RSI:3"),
    )
    out = run(BarPipeline(config), arrival)
    dropped = {decode_tick(letter.payload) for letter in letters_of(out)}
    assert all(letter.reason is DeadLetterReason.LATE for letter in letters_of(out))
    used = [t for t in ordered if t not in dropped]
    final = list(final_bars(bars_of(out)).values())
    expected = reference_bars(used, 1000)
    assert {b.start: (b.open, b.high, b.low, b.close, b.volume, b.ticks) for b in final} == expected
    closes = np.array([b.close for b in final])
    for name, values in [
        ("sma_3", batch.SMA(closes, 3)),
        ("ema_4", batch.EMA(closes, 4)),
        ("rsi_3", batch.RSI(closes, 3)),
    ]:
        streamed = np.array([np.nan if b.indicators[name] is None else b.indicators[name] for b in final])
        assert np.array_equal(streamed, values, equal_nan=True), name


def test_replay_at_one_day_per_second_rebuilds_the_daily_bars_and_batch_indicators(
    goog_bars: pa.Table,
) -> None:
    ticks = replay_ticks(goog_bars, seed=3, origin_ms=ORIGIN, speed=1.0)
    config = BarConfig(intervals=("1s",), indicators=("SMA:20", "EMA:20", "RSI:14"))
    bars = bars_of(run(BarPipeline(config), list(ticks)))
    assert all(b.rev == 0 for b in bars)
    columns = {name: goog_bars.column(name).to_numpy() for name in ("open", "high", "low", "close", "volume")}
    for name, values in columns.items():
        assert np.array_equal([getattr(b, name) for b in bars], values), name
    for key, values in [
        ("sma_20", batch.SMA(columns["close"], 20)),
        ("ema_20", batch.EMA(columns["close"], 20)),
        ("rsi_14", batch.RSI(columns["close"], 14)),
    ]:
        streamed = np.array([np.nan if b.indicators[key] is None else b.indicators[key] for b in bars])
        assert np.array_equal(streamed, values, equal_nan=True), key


def test_one_minute_bars_of_a_replay_aggregate_sixty_trading_days(goog_bars: pa.Table) -> None:
    ticks = replay_ticks(goog_bars, seed=3, origin_ms=ORIGIN, speed=1.0)
    bars = bars_of(run(BarPipeline(BarConfig(intervals=("1m",), indicators=())), list(ticks)))
    day = np.arange(goog_bars.num_rows) + 20  # ORIGIN is 20 s into a minute
    group = day // 60
    c = {name: goog_bars.column(name).to_numpy() for name in ("open", "high", "low", "close", "volume")}
    expected = [
        (c["open"][g][0], c["high"][g].max(), c["low"][g].min(), c["close"][g][-1], c["volume"][g].sum())
        for g in (group == k for k in np.unique(group))
    ]
    assert [(b.open, b.high, b.low, b.close, b.volume) for b in bars] == expected


def test_config_is_frozen_and_rejects_unknown_fields_and_bad_values() -> None:
    with pytest.raises(ValidationError, match="extra"):
        BarConfig(interval="1s")  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="unknown bar interval"):
        BarConfig(intervals=("1d",))
    with pytest.raises(ValidationError, match="streaming indicator"):
        BarConfig(indicators=("MACD:12",))
    with pytest.raises(ValidationError):
        BarConfig(allowed_lateness_ms=-1)
    with pytest.raises(ValidationError):
        BarConfig().intervals = ("1m",)  # type: ignore[misc]


# --- forming bars ------------------------------------------------------------------------------


def test_forming_bars_are_the_open_windows_of_the_symbols_with_new_ticks() -> None:
    p = pipeline(bound=500)
    run(p, [tick(0, 10.0, 1), tick(400, 12.0, 2), tick(1100, 11.0, 3, symbol="Y")], flush=False)
    first = p.forming()
    assert [(b.symbol, b.start - ORIGIN, b.close, b.ticks, b.forming) for b in first] == [
        ("X", 0, 12.0, 2, True),
        ("Y", 1000, 11.0, 1, True),
    ]
    assert p.forming() == []  # nothing new since
    run(p, [tick(1200, 13.0, 4)], flush=False)  # X's first window has not fired yet (watermark 699)
    assert [(b.start - ORIGIN, b.close) for b in p.forming()] == [(0, 12.0), (1000, 13.0)]
    run(p, [tick(1600, 14.0, 5)], flush=False)  # the watermark passes 999: the first window fires
    assert [(b.start - ORIGIN, b.close) for b in p.forming()] == [(1000, 14.0)]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10**6), cut=st.integers(1, 299))
def test_a_forming_bar_is_the_bar_its_window_gives_if_no_more_ticks_come(seed: int, cut: int) -> None:
    """Taken at any point, each forming bar (values, indicators) equals the bar its window fires with
    when the input ends there."""
    rng = random.Random(seed)
    ordered = ordered_ticks(300, seed)
    arrival = sorted(ordered, key=lambda t: t.ts + rng.choice([0, 0, 200, 900]))
    config = BarConfig(
        intervals=("1s", "1m"), out_of_orderness_ms=300, allowed_lateness_ms=1000,
        indicators=("SMA:3", "EMA:4", "RSI:3"),
    )  # fmt: skip
    p = BarPipeline(config)
    run(p, arrival[:cut], flush=False)
    forming = p.forming()
    ended = copy.deepcopy(p)
    fired = final_bars(bars_of(ended.flush()))
    assert forming
    for bar in forming:
        assert dataclasses.replace(bar, forming=False, rev=fired[bar.key].rev) == fired[bar.key]
