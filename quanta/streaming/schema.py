"""The wire format of ticks, bars and dead letters: compact JSON with a schema version, no registry.

Every record is one JSON object whose ``"v"`` field is the schema version (1). Ticks and bars use
one-letter keys; Kafka records are keyed by symbol, so one symbol's records stay in order::

    tick  {"v":1,"s":"GOOG","t":1700000000123,"p":101.25,"q":300.0,"n":17}
          symbol, event time (ms since the epoch, UTC), price, size, sequence number at the source
    bar   {"v":1,"s":"GOOG","i":"1s","t":1700000000000,"o":…,"h":…,"l":…,"c":…,"q":…,"n":12,"r":0,
           "x":{"sma_20":101.3,"rsi_14":null}}
          interval, window start, OHLC, volume, tick count, revision, indicator values; a forming
          bar (a window still open, on ``quanta.bars.<interval>.forming``) adds ``"f":true``
    dead  {"v":1,"reason":"late","detail":"…","key":"GOOG","payload":"<base64 of the record>"}

Versioning: a reader accepts its own version and ignores keys it does not know, so adding a field
keeps ``v`` at 1; renaming, removing or re-typing one makes version 2, which a version-1 reader
rejects with reason ``unsupported-version`` (a dead letter, not a crash). Floats are written with
Python's shortest round-trip ``repr``, so a decoded value is the very same double.

Decoding validates: a record that is not JSON, lacks a field, has a wrongly typed or impossible
value (non-finite or non-positive price, negative size, a malformed symbol) raises
:class:`~quanta.streaming.errors.MalformedEventError` with the reason and a detail.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from typing import Any

from quanta.streaming.errors import MalformedEventError
from quanta.streaming.events import SYMBOL, Bar, DeadLetter, DeadLetterReason, Tick

SCHEMA_VERSION = 1
MAX_TS = 2**53  # milliseconds: far beyond any real date, and exact in a double
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=True, allow_nan=False)
_DECODER = json.JSONDecoder()
_MAX_KNOWN = 100_000
_known_symbols: set[str] = set()  # symbols that passed the pattern once


def encode_tick(tick: Tick) -> bytes:
    """The tick as one JSON object (about 70 bytes); refuses values no reader would accept."""
    _check_symbol(tick.symbol)
    if not (0.0 < tick.price < math.inf and 0.0 <= tick.size < math.inf) or not 0 <= tick.ts < MAX_TS:
        raise MalformedEventError(DeadLetterReason.MALFORMED, f"refusing to encode {tick!r}")
    return (
        f'{{"v":1,"s":"{tick.symbol}","t":{tick.ts},"p":{float(tick.price)!r},'
        f'"q":{float(tick.size)!r},"n":{tick.seq}}}'
    ).encode()


def decode_tick(data: bytes) -> Tick:
    """Read a tick written by :func:`encode_tick` (or any writer of schema version 1)."""
    record = _record(data, "tick")
    get = record.get
    s, t, p, q, n = get("s"), get("t"), get("p"), get("q"), get("n")
    if (  # the common case, checked inline; anything else takes the path that explains the fault
        s in _known_symbols
        and type(t) is int
        and type(n) is int
        and type(p) is float
        and type(q) is float
        and 0 <= t < MAX_TS
        and 0 <= n < 2**63
        and 0.0 < p < math.inf
        and 0.0 <= q < math.inf
    ):
        return Tick(s, t, p, q, n)  # type: ignore[arg-type]
    return Tick(
        symbol=_symbol(record),
        ts=_integer(record, "t", maximum=MAX_TS - 1),
        price=_number(record, "p", positive=True),
        size=_number(record, "q"),
        seq=_integer(record, "n", maximum=2**63 - 1),
    )


def encode_bar(bar: Bar) -> bytes:
    """The bar as one JSON object; indicator values in warm-up are ``null``."""
    _check_symbol(bar.symbol)
    record = {
        "v": SCHEMA_VERSION,
        "s": bar.symbol,
        "i": bar.interval,
        "t": bar.start,
        "o": bar.open,
        "h": bar.high,
        "l": bar.low,
        "c": bar.close,
        "q": bar.volume,
        "n": bar.ticks,
        "r": bar.rev,
        "x": dict(bar.indicators),
    }
    if bar.forming:
        record["f"] = True
    try:
        return _ENCODER.encode(record).encode()
    except ValueError as exc:  # NaN or infinity
        raise MalformedEventError(DeadLetterReason.MALFORMED, f"refusing to encode {bar!r}: {exc}") from exc


def decode_bar(data: bytes) -> Bar:
    """Read a bar written by :func:`encode_bar`."""
    record = _record(data, "bar")
    interval = record.get("i")
    if not isinstance(interval, str):
        raise _malformed("bar", "i", "a string such as '1s'", interval)
    return Bar(
        symbol=_symbol(record),
        interval=interval,
        start=_integer(record, "t", maximum=MAX_TS - 1),
        open=_number(record, "o", positive=True),
        high=_number(record, "h", positive=True),
        low=_number(record, "l", positive=True),
        close=_number(record, "c", positive=True),
        volume=_number(record, "q"),
        ticks=_integer(record, "n", maximum=2**63 - 1),
        rev=_integer(record, "r", maximum=2**63 - 1),
        indicators=_indicators(record),
        forming=_flag(record, "f"),
    )


def encode_dead_letter(letter: DeadLetter) -> bytes:
    """The dead letter as JSON; the original record travels base64-encoded in ``payload``."""
    record = {
        "v": SCHEMA_VERSION,
        "reason": letter.reason.value,
        "detail": letter.detail,
        "key": letter.key,
        "payload": base64.b64encode(letter.payload).decode(),
    }
    return _ENCODER.encode(record).encode()


def decode_dead_letter(data: bytes) -> DeadLetter:
    """Read a dead letter written by :func:`encode_dead_letter`."""
    record = _record(data, "dead letter")
    try:
        reason = DeadLetterReason(str(record["reason"]))
        detail, key = record["detail"], record.get("key")
        payload = base64.b64decode(record["payload"], validate=True)
    except (KeyError, ValueError, TypeError) as exc:
        raise MalformedEventError(DeadLetterReason.MALFORMED, f"not a dead letter: {exc}") from exc
    if not isinstance(detail, str) or not (key is None or isinstance(key, str)):
        raise MalformedEventError(DeadLetterReason.MALFORMED, "dead letter detail and key must be strings")
    return DeadLetter(reason=reason, detail=detail, payload=payload, key=key)


def _check_symbol(symbol: str) -> None:
    if symbol in _known_symbols:
        return
    if not isinstance(symbol, str) or SYMBOL.fullmatch(symbol) is None:
        raise MalformedEventError(DeadLetterReason.MALFORMED, f"bad symbol {symbol!r}")
    _remember(symbol)


def _record(data: bytes, kind: str) -> dict[str, Any]:
    try:
        record = _parse(data.decode())
    except (ValueError, TypeError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise MalformedEventError(DeadLetterReason.MALFORMED, f"{kind} is not JSON: {exc}") from None
    if not isinstance(record, dict):
        raise MalformedEventError(DeadLetterReason.MALFORMED, f"{kind} is not a JSON object")
    version = record.get("v")
    if version != SCHEMA_VERSION:
        if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
            detail = f"{kind} has schema version {version}; this reader knows {SCHEMA_VERSION}"
            raise MalformedEventError(DeadLetterReason.UNSUPPORTED_VERSION, detail)
        raise _malformed(kind, "v", f"the schema version {SCHEMA_VERSION}", version)
    return record


def _parse(text: str) -> Any:
    """JSON text to a value: the decoder's fast entry point first (no encoding sniffing, no
    whitespace scan — twice as fast), ``json.loads`` for anything it does not take whole."""
    try:
        value, end = _DECODER.raw_decode(text)
    except ValueError:
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


def _malformed(kind: str, key: str, expected: str, got: object) -> MalformedEventError:
    shown = "missing" if got is None else f"got {got!r}"
    return MalformedEventError(
        DeadLetterReason.MALFORMED, f"{kind} field {key!r} must be {expected}, {shown}"
    )


def _symbol(record: Mapping[str, Any]) -> str:
    symbol = record.get("s")
    if not isinstance(symbol, str) or SYMBOL.fullmatch(symbol) is None:
        raise _malformed("record", "s", "a symbol (letters, digits, . _ ^ = / -; 1-32 long)", symbol)
    _remember(symbol)
    return symbol


def _remember(symbol: str) -> None:
    """Remember a valid symbol, so the next record of it skips the pattern (a bounded set)."""
    if len(_known_symbols) < _MAX_KNOWN:
        _known_symbols.add(symbol)


def _integer(record: Mapping[str, Any], key: str, *, maximum: int) -> int:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise _malformed("record", key, f"an integer in [0, {maximum}]", value)
    return value


def _number(record: Mapping[str, Any], key: str, *, positive: bool = False) -> float:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _malformed("record", key, "a number", value)
    number = float(value)
    if not math.isfinite(number) or number < 0.0 or (positive and number == 0.0):
        raise _malformed("record", key, "a finite number > 0" if positive else "a finite number ≥ 0", value)
    return number


def _flag(record: Mapping[str, Any], key: str) -> bool:
    value = record.get(key, False)
    if type(value) is not bool:
        raise _malformed("bar", key, "true or false", value)
    return value


def _indicators(record: Mapping[str, Any]) -> dict[str, float | None]:
    values = record.get("x", {})
    if not isinstance(values, dict):
        raise _malformed("bar", "x", "an object of indicator values", values)
    out: dict[str, float | None] = {}
    for name, value in values.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise _malformed("bar", f"x.{name}", "a number or null", value)
        out[name] = None if value is None else float(value)
    return out
