"""The versioned JSON wire format: exact round trips, and typed errors with reasons for bad input."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quanta.streaming import (
    Bar,
    DeadLetter,
    DeadLetterReason,
    MalformedEventError,
    Tick,
    decode_bar,
    decode_dead_letter,
    decode_tick,
    encode_bar,
    encode_dead_letter,
    encode_tick,
)

symbols = st.from_regex(r"[A-Z][A-Z0-9.^=/_-]{0,9}", fullmatch=True)
prices = st.floats(min_value=1e-9, max_value=1e12, allow_nan=False, allow_infinity=False)
sizes = st.floats(min_value=0, max_value=1e15, allow_nan=False, allow_infinity=False)
ticks = st.builds(
    Tick,
    symbol=symbols,
    ts=st.integers(0, 2**53 - 1),
    price=prices,
    size=sizes,
    seq=st.integers(0, 2**63 - 1),
)


@given(ticks)
def test_tick_round_trip_is_exact(tick: Tick) -> None:
    assert decode_tick(encode_tick(tick)) == tick


def test_tick_record_is_compact_json_with_version() -> None:
    data = encode_tick(Tick("GOOG", 1_700_000_000_123, 101.25, 300.0, 17))
    assert data == b'{"v":1,"s":"GOOG","t":1700000000123,"p":101.25,"q":300.0,"n":17}'
    assert json.loads(data)["v"] == 1


def test_tick_reader_accepts_whitespace_around_the_object() -> None:
    assert decode_tick(b' {"v":1,"s":"GOOG","t":5,"p":1.5,"q":2,"n":0}\n') == Tick("GOOG", 5, 1.5, 2.0, 0)


def test_tick_reader_ignores_fields_it_does_not_know() -> None:
    data = b'{"v":1,"s":"GOOG","t":5,"p":1.5,"q":2,"n":0,"venue":"XNAS"}'
    assert decode_tick(data) == Tick("GOOG", 5, 1.5, 2.0, 0)


@given(
    st.builds(
        Bar,
        symbol=symbols,
        interval=st.sampled_from(["1s", "1m"]),
        start=st.integers(0, 2**53 - 1),
        open=prices,
        high=prices,
        low=prices,
        close=prices,
        volume=sizes,
        ticks=st.integers(1, 10**6),
        rev=st.integers(0, 100),
        indicators=st.dictionaries(st.sampled_from(["sma_20", "rsi_14"]), st.none() | prices),
    )
)
def test_bar_round_trip_is_exact(bar: Bar) -> None:
    assert decode_bar(encode_bar(bar)) == bar


def test_dead_letter_round_trip_keeps_the_original_bytes() -> None:
    letter = DeadLetter(DeadLetterReason.LATE, "too late", b"\xff\x00not json", "GOOG")
    assert decode_dead_letter(encode_dead_letter(letter)) == letter


GOOD = {"v": 1, "s": "GOOG", "t": 5, "p": 1.5, "q": 2.0, "n": 0}


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        (b"", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b'{"v":1,"s":"GOOG"', "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (json.dumps(GOOD).encode() + b" trailing", "not JSON"),
        (json.dumps({**GOOD, "v": None}).encode(), "'v'"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "v"}).encode(), "'v'"),
        (json.dumps({**GOOD, "v": "1"}).encode(), "'v'"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "p"}).encode(), "'p' must be a number, missing"),
        (json.dumps({**GOOD, "p": "1.5"}).encode(), "'p' must be a number"),
        (json.dumps({**GOOD, "p": 0}).encode(), "'p' must be a finite number > 0"),
        (json.dumps({**GOOD, "p": -3.0}).encode(), "'p' must be a finite number > 0"),
        (b'{"v":1,"s":"GOOG","t":5,"p":NaN,"q":2.0,"n":0}', "'p' must be a finite number > 0"),
        (b'{"v":1,"s":"GOOG","t":5,"p":Infinity,"q":2.0,"n":0}', "'p' must be a finite number > 0"),
        (json.dumps({**GOOD, "p": True}).encode(), "'p' must be a number"),
        (json.dumps({**GOOD, "q": -1}).encode(), "'q' must be a finite number ≥ 0"),
        (json.dumps({**GOOD, "t": 5.5}).encode(), "'t' must be an integer"),
        (json.dumps({**GOOD, "t": -1}).encode(), "'t' must be an integer"),
        (json.dumps({**GOOD, "t": 2**53}).encode(), "'t' must be an integer"),
        (json.dumps({**GOOD, "n": -1}).encode(), "'n' must be an integer"),
        (json.dumps({**GOOD, "s": ""}).encode(), "'s' must be a symbol"),
        (json.dumps({**GOOD, "s": 'GO"OG'}).encode(), "'s' must be a symbol"),
        (json.dumps({**GOOD, "s": "X" * 33}).encode(), "'s' must be a symbol"),
        (json.dumps({**GOOD, "s": 7}).encode(), "'s' must be a symbol"),
    ],
)
def test_malformed_tick_raises_typed_error_with_reason(data: bytes, detail: str) -> None:
    with pytest.raises(MalformedEventError) as caught:
        decode_tick(data)
    assert caught.value.reason is DeadLetterReason.MALFORMED
    assert detail in caught.value.detail


def test_newer_schema_version_is_unsupported_not_malformed() -> None:
    with pytest.raises(MalformedEventError) as caught:
        decode_tick(json.dumps({**GOOD, "v": 2}).encode())
    assert caught.value.reason is DeadLetterReason.UNSUPPORTED_VERSION
    assert "version 2" in caught.value.detail


@pytest.mark.parametrize(
    "bad",
    [
        Tick("GOOG", 1, math.nan, 1.0),
        Tick("GOOG", 1, math.inf, 1.0),
        Tick("GOOG", 1, 0.0, 1.0),
        Tick("GOOG", 1, 1.0, -1.0),
        Tick("GOOG", -1, 1.0, 1.0),
        Tick('GO"OG', 1, 1.0, 1.0),
    ],
)
def test_encoding_refuses_a_tick_no_reader_would_accept(bad: Tick) -> None:
    with pytest.raises(MalformedEventError):
        encode_tick(bad)


def test_encoding_refuses_a_bar_with_nan() -> None:
    bar = Bar("GOOG", "1s", 0, 1.0, 1.0, 1.0, math.nan, 1.0, 1)
    with pytest.raises(MalformedEventError):
        encode_bar(bar)
