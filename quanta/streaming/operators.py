"""Pure streaming operators: ticks in, bars and dead letters out — no transport, no clock, no I/O.

The in-process bus, the Kafka job (``pipelines.bars``) and tests all drive the same objects, so
the bars are the same whatever carries the ticks.

Event time, per symbol (Flink's definitions, with watermarks advanced by every tick):

- a window ``[start, end)`` of width ``interval`` holds the ticks with ``start <= ts < end``;
- the watermark is ``max ts seen - out_of_orderness_ms - 1``;
- a window fires (its bar is emitted, ``rev`` 0) once ``watermark >= end - 1``;
- a tick for a fired window is *late*: while ``end - 1 + allowed_lateness_ms > watermark`` it still
  updates the window and the bar is emitted again (``rev`` 1, 2, …); after that the window is gone
  and the tick goes to the dead letters with reason ``late``;
- :meth:`BarPipeline.flush` is the end of input (Flink's final watermark): every open window fires.

Forming bars: :meth:`BarPipeline.forming` returns, for each symbol with ticks since the last call, its
windows that have not fired yet as provisional bars (``forming=True``, indicators as if the windows
closed now). The jobs publish them every ~100 ms so a chart's last candle moves with the ticks
long before the window closes; they are not part of the bar series and change nothing above.

Watermarks are kept per symbol, so a symbol's bars depend only on the order of that symbol's ticks —
which Kafka keeps (records keyed by symbol) however the partitions interleave.

Open is the price of the earliest tick by ``(ts, seq)``, close that of the latest, so the bar does
not depend on arrival order; volume is summed in arrival order (exact for whole-number sizes).

Indicators (:mod:`quanta.streaming.indicators`) run per symbol and interval over the bar closes.
A fired bar carries values computed from the final bars before it plus the bars still open to
updates; when a late tick changes a bar, that bar and every later bar whose values change are
emitted again. The last emitted values of each bar therefore equal the batch indicator
(``quanta.indicators``) applied to the final bar series.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from pydantic import BaseModel, ConfigDict, Field, field_validator

from quanta.streaming.errors import MalformedEventError
from quanta.streaming.events import Bar, DeadLetter, DeadLetterReason, Tick, interval_ms
from quanta.streaming.indicators import IndicatorSpec, StreamingIndicator
from quanta.streaming.schema import decode_tick, encode_tick

Output = Bar | DeadLetter


class BarConfig(BaseModel):
    """What the bar operators compute. Frozen; unknown fields are rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    intervals: tuple[str, ...] = Field(default=("1s", "1m"), description="Bar widths: <n>s, <n>m, <n>h.")
    out_of_orderness_ms: int = Field(default=500, ge=0, description="How far ticks may arrive out of order.")
    allowed_lateness_ms: int = Field(default=2000, ge=0, description="How long a fired bar takes updates.")
    indicators: tuple[str, ...] = Field(
        default=("SMA:20", "EMA:20", "RSI:14"), description="Indicators on the bar closes, NAME:PERIOD."
    )

    @field_validator("intervals")
    @classmethod
    def _known_intervals(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for interval in value:
            interval_ms(interval)
        if len(set(value)) != len(value) or not value:
            msg = "intervals must be distinct and at least one"
            raise ValueError(msg)
        return value

    @field_validator("indicators")
    @classmethod
    def _known_indicators(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        specs = [IndicatorSpec.parse(text) for text in value]
        if len({spec.key for spec in specs}) != len(specs):
            msg = "indicators must be distinct"
            raise ValueError(msg)
        return value

    @property
    def indicator_specs(self) -> tuple[IndicatorSpec, ...]:
        """The parsed indicator specifications."""
        return tuple(IndicatorSpec.parse(text) for text in self.indicators)


# --- windows ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WindowClosed:
    """The window of ``symbol`` starting at ``start`` takes no more ticks: its last bar is final."""

    symbol: str
    start: int


@dataclass(frozen=True, slots=True)
class LateTick:
    """A tick whose ``interval`` window closed before it arrived."""

    tick: Tick
    interval: str
    watermark: int
    window_end: int


WindowEvent = Bar | WindowClosed | LateTick


@dataclass(slots=True)
class _Window:
    """A window's running OHLCV; ``first``/``last`` are the ``(ts, seq)`` of the open and close ticks."""

    first: tuple[int, int]
    last: tuple[int, int]
    open: float
    high: float
    low: float
    close: float
    volume: float
    ticks: int = 1
    fired: bool = False

    @classmethod
    def of(cls, tick: Tick) -> _Window:
        at = (tick.ts, tick.seq)
        p = tick.price
        return cls(first=at, last=at, open=p, high=p, low=p, close=p, volume=tick.size)

    def add(self, tick: Tick) -> None:
        at, p = (tick.ts, tick.seq), tick.price
        if at < self.first:
            self.first, self.open = at, p
        if at >= self.last:
            self.last, self.close = at, p
        self.high = max(self.high, p)
        self.low = min(self.low, p)
        self.volume += tick.size
        self.ticks += 1


@dataclass(slots=True)
class _Symbol:
    max_ts: int | None = None
    windows: dict[int, _Window] = field(default_factory=dict)


class BarAggregator:
    """Event-time tumbling windows of one width for every symbol (see the module docstring)."""

    def __init__(self, *, interval: str, out_of_orderness_ms: int = 0, allowed_lateness_ms: int = 0) -> None:
        self.interval = interval
        self.width = interval_ms(interval)
        self.bound = out_of_orderness_ms
        self.lateness = allowed_lateness_ms
        self._symbols: dict[str, _Symbol] = {}

    def watermark(self, symbol: str) -> int | None:
        """The symbol's current watermark (None before its first tick)."""
        state = self._symbols.get(symbol)
        if state is None or state.max_ts is None:
            return None
        return state.max_ts - self.bound - 1

    def add(self, tick: Tick) -> list[WindowEvent]:
        """Take one tick; return the bars fired or updated, windows closed, or the tick if late."""
        state = self._symbols.get(tick.symbol)
        if state is None:
            state = self._symbols[tick.symbol] = _Symbol()
        watermark = -math.inf if state.max_ts is None else state.max_ts - self.bound - 1
        start = tick.ts - tick.ts % self.width
        end = start + self.width
        if end - 1 + self.lateness <= watermark:
            return [LateTick(tick, self.interval, int(watermark), end)]
        events: list[WindowEvent] = []
        window = state.windows.get(start)
        if window is None:
            window = state.windows[start] = _Window.of(tick)
        else:
            window.add(tick)
        if end - 1 <= watermark:  # a late tick within the allowed lateness: fire (again) at once
            window.fired = True
            events.append(self._bar(tick.symbol, start, window))
        if state.max_ts is None or tick.ts > state.max_ts:
            state.max_ts = tick.ts
            self._advance(tick.symbol, state, events)
        return events

    def forming(self, symbol: str) -> list[Bar]:
        """The symbol's windows not fired yet, oldest first, as provisional bars."""
        state = self._symbols.get(symbol)
        if state is None:
            return []
        return [
            replace(self._bar(symbol, start, window), forming=True)
            for start, window in sorted(state.windows.items())
            if not window.fired
        ]

    def flush(self) -> list[WindowEvent]:
        """End of input: fire every window not fired yet and close them all."""
        events: list[WindowEvent] = []
        for symbol, state in self._symbols.items():
            for start in sorted(state.windows):
                window = state.windows.pop(start)
                if not window.fired:
                    events.append(self._bar(symbol, start, window))
                events.append(WindowClosed(symbol, start))
        return events

    def _advance(self, symbol: str, state: _Symbol, events: list[WindowEvent]) -> None:
        assert state.max_ts is not None
        watermark = state.max_ts - self.bound - 1
        if min(state.windows) + self.width - 1 > watermark:
            return
        for start in sorted(state.windows):
            end = start + self.width
            if end - 1 > watermark:
                break
            window = state.windows[start]
            if not window.fired:
                window.fired = True
                events.append(self._bar(symbol, start, window))
            if end - 1 + self.lateness <= watermark:
                del state.windows[start]
                events.append(WindowClosed(symbol, start))

    def _bar(self, symbol: str, start: int, w: _Window) -> Bar:
        return Bar(symbol, self.interval, start, w.open, w.high, w.low, w.close, w.volume, w.ticks)


# --- indicators ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Series:
    """One symbol's indicator state over its final bars, and its bars still open to updates."""

    committed: list[StreamingIndicator]
    starts: list[int] = field(default_factory=list)  # the pending bars' starts, in order
    pending: dict[int, Bar] = field(default_factory=dict)  # each pending bar's last emission


class BarIndicators:
    """Indicators over one interval's bar closes, per symbol (see the module docstring)."""

    def __init__(self, specs: Sequence[IndicatorSpec]) -> None:
        self.specs = tuple(specs)
        self._series: dict[str, _Series] = {}

    def on_bar(self, bar: Bar) -> list[Bar]:
        """A bar fired or updated: return it with its indicators, and later bars whose values changed."""
        series = self._series.get(bar.symbol)
        if series is None:
            series = self._series[bar.symbol] = _Series([spec.create() for spec in self.specs])
        previous = series.pending.get(bar.start)
        if previous is None:
            bisect.insort(series.starts, bar.start)
            bar = replace(bar, rev=0)
        else:
            bar = replace(bar, rev=previous.rev + 1)
        states = [indicator.copy() for indicator in series.committed]
        out: list[Bar] = []
        for start in series.starts:
            current = bar if start == bar.start else series.pending[start]
            values = {ind.name: _value(ind.update(current.close)) for ind in states}
            if start < bar.start:
                continue
            if start == bar.start:
                current = replace(current, indicators=values)
            elif values != current.indicators:
                current = replace(current, rev=current.rev + 1, indicators=values)
            else:
                continue
            series.pending[start] = current
            out.append(current)
        return out

    def preview(self, forming: Sequence[Bar]) -> list[Bar]:
        """One symbol's forming bars (oldest first, all after its fired ones) with the values they would
        get if they fired now; nothing is stored."""
        if not forming:
            return []
        series = self._series.get(forming[0].symbol)
        if series is None:
            states = [spec.create() for spec in self.specs]
        else:
            states = [indicator.copy() for indicator in series.committed]
            for start in series.starts:
                for indicator in states:
                    indicator.update(series.pending[start].close)
        return [
            replace(bar, indicators={ind.name: _value(ind.update(bar.close)) for ind in states})
            for bar in forming
        ]

    def on_closed(self, symbol: str, start: int) -> None:
        """The bar at ``start`` is final: fold it into the committed indicator state."""
        series = self._series[symbol]
        if series.starts[0] != start:  # windows close in start order; anything else is a bug
            msg = f"{symbol}: closing the bar at {start} before the one at {series.starts[0]}"
            raise RuntimeError(msg)
        series.starts.pop(0)
        final = series.pending.pop(start)
        for indicator in series.committed:
            indicator.update(final.close)


def _value(x: float) -> float | None:
    return None if math.isnan(x) else x


# --- the whole operator chain -----------------------------------------------------------------


class BarPipeline:
    """Ticks to bars with indicators for every configured interval, plus dead letters.

    ``process_record`` takes a tick record's bytes (malformed ones become dead letters);
    ``process`` takes a decoded tick; ``flush`` ends the input.
    """

    def __init__(self, config: BarConfig | None = None) -> None:
        self.config = config or BarConfig()
        specs = self.config.indicator_specs
        self._touched: set[str] = set()
        self._stages = [
            (
                BarAggregator(
                    interval=interval,
                    out_of_orderness_ms=self.config.out_of_orderness_ms,
                    allowed_lateness_ms=self.config.allowed_lateness_ms,
                ),
                BarIndicators(specs),
            )
            for interval in self.config.intervals
        ]

    def process_record(self, value: bytes, key: str | None = None) -> list[Output]:
        """Decode one tick record and process it; a malformed record becomes a dead letter."""
        try:
            tick = decode_tick(value)
        except MalformedEventError as exc:
            return [DeadLetter(exc.reason, exc.detail, value, key)]
        return self._run(tick, value, key)

    def process(self, tick: Tick) -> list[Output]:
        """Process one decoded tick."""
        return self._run(tick, None, tick.symbol)

    def forming(self) -> list[Bar]:
        """The forming bar of every interval of each symbol with ticks since the last call."""
        out: list[Bar] = []
        for symbol in sorted(self._touched):
            for aggregator, indicators in self._stages:
                out.extend(indicators.preview(aggregator.forming(symbol)))
        self._touched.clear()
        return out

    def flush(self) -> list[Output]:
        """End of input: every open window fires; indicator states are final."""
        out: list[Output] = []
        for aggregator, indicators in self._stages:
            out.extend(_apply(indicators, aggregator.flush()))
        return out

    def _run(self, tick: Tick, raw: bytes | None, key: str | None) -> list[Output]:
        self._touched.add(tick.symbol)
        out: list[Output] = []
        late: list[LateTick] = []
        for aggregator, indicators in self._stages:
            events = aggregator.add(tick)
            if events:  # most ticks fire nothing: no work for them
                late.extend(event for event in events if isinstance(event, LateTick))
                out.extend(_apply(indicators, events))
        if late:
            out.append(_late_letter(tick, raw, key, late))
        return out


def _apply(indicators: BarIndicators, events: Iterable[WindowEvent]) -> list[Output]:
    out: list[Output] = []
    for event in events:
        if isinstance(event, Bar):
            out.extend(indicators.on_bar(event))
        elif isinstance(event, WindowClosed):
            indicators.on_closed(event.symbol, event.start)
    return out


def _late_letter(tick: Tick, raw: bytes | None, key: str | None, late: list[LateTick]) -> DeadLetter:
    """One dead letter for a tick that was too late for one or more intervals."""
    windows = "; ".join(
        f"{event.interval} window ending {event.window_end}, watermark {event.watermark}" for event in late
    )
    detail = f"{tick.symbol} tick at {tick.ts} arrived after its window closed ({windows})"
    return DeadLetter(DeadLetterReason.LATE, detail, raw if raw is not None else encode_tick(tick), key)
