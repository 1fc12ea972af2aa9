"""Live market data on the hub: bars from a feed become deltas of ``market.bars.<interval>.<SYMBOL>``.

A *feed* is anything that yields bar records (:class:`quanta.streaming.Message`, JSON v1): the
embedded replay (:class:`ReplayFeed`, an :class:`~quanta.streaming.EmbeddedMarket` over the stored
daily bars, paced in real time and looping) or, with Kafka, a subscription to ``quanta.bars.1s``.
:meth:`MarketBroadcast.follow` keeps one running: if it fails, the topics turn stale, the failure is
logged, and the feed is opened again after a growing pause (0.5 s, 1 s, 2 s, … at most 30 s).
:meth:`MarketBroadcast.watch` (on every worker) turns a topic stale after ``stale_after`` seconds
without a bar, with the time of its last bar in the detail (``no bars since 2026-11-24T09:52:13Z``);
the next bar makes it live again.

Deltas are bar revisions ``{"t", "o", "h", "l", "c", "v", "n", "r", "x"}`` (window start in ms,
OHLC, volume, ticks, revision, indicators); the snapshot is ``{"bars": [...]}``, the last ``keep``
bars in time order, the latest revision of each. A feed may also carry *forming* bars (windows still
open, every ~100 ms: ``quanta.bars.1s.forming``); they go out with ``"f": 1`` and are replaced by the
window's final bar — a forming bar of a window whose final bar was already published is dropped.
Consumers that act on closed bars (paper trading) skip deltas with ``"f"``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Final

from quanta.broadcast._hub import Hub, Status
from quanta.streaming import (
    Bar,
    BarConfig,
    EmbeddedMarket,
    MalformedEventError,
    Message,
    TickReplay,
    decode_bar,
    interval_ms,
    replay_ticks,
)
from quanta.streaming.replay import day_ms
from quanta.streaming.transport import merge

if TYPE_CHECKING:
    import pyarrow as pa  # type: ignore[import-untyped]

log = logging.getLogger(__name__)

INTERVAL: Final = "1s"
WAITING: Final = "waiting for the first data"
DEFAULT_SYMBOLS: Final = ("GOOG", "AAPL", "MSFT", "IBM")
_YIELD_EVERY: Final = 256

Feed = Callable[[int], AbstractAsyncContextManager[AsyncIterable[Message]]]
"""Opens a source of bar records; the argument is the earliest window start (ms) it should emit,
so that a feed opened again continues after the bars already sent."""


def bar_topic(symbol: str, interval: str = INTERVAL) -> str:
    """The topic of one symbol's live bars: ``market.bars.1s.GOOG``."""
    return f"market.bars.{interval}.{symbol}"


def bar_data(bar: Bar) -> dict[str, Any]:
    """A bar as a delta."""
    return {
        "t": bar.start,
        "o": bar.open,
        "h": bar.high,
        "l": bar.low,
        "c": bar.close,
        "v": bar.volume,
        "n": bar.ticks,
        "r": bar.rev,
        "x": dict(bar.indicators),
    } | ({"f": 1} if bar.forming else {})


class RecentBars:
    """A topic view: the last ``keep`` bars, a later revision of a window replacing the earlier one."""

    def __init__(self, keep: int = 300) -> None:
        self.keep = keep
        self._bars: dict[int, dict[str, Any]] = {}

    def apply(self, data: Any) -> None:
        """Take one bar delta."""
        start = int(data["t"])
        newest = next(reversed(self._bars), None)
        known = start in self._bars
        self._bars[start] = data
        if not known and newest is not None and start < newest:  # rare: a window older than the newest
            self._bars = dict(sorted(self._bars.items()))
        while len(self._bars) > self.keep:
            del self._bars[next(iter(self._bars))]

    def snapshot(self) -> dict[str, Any]:
        """``{"bars": [...]}``, oldest first."""
        return {"bars": list(self._bars.values())}


class Backoff:
    """Pauses between attempts: ``first`` seconds, doubling up to ``most``, ±20 % jitter."""

    def __init__(self, first: float = 0.5, most: float = 30.0, *, jitter: float = 0.2) -> None:
        self.first, self.most, self.jitter = first, most, jitter

    def delay(self, failures: int) -> float:
        """The pause after ``failures`` failures in a row (≥ 1)."""
        base = min(self.most, self.first * 2.0 ** max(failures - 1, 0))
        return base * (1 + random.uniform(-self.jitter, self.jitter))  # noqa: S311 - not cryptographic


def utc_stamp(seconds: float) -> str:
    """``2026-11-24T09:52:13Z``: the form in which a stale topic's detail names the time of its last bar."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


class MarketBroadcast:
    """Declares one topic per symbol on ``hub`` and publishes a feed's bars to them."""

    def __init__(
        self,
        hub: Hub,
        symbols: Sequence[str] = DEFAULT_SYMBOLS,
        *,
        interval: str = INTERVAL,
        keep: int = 300,
        stale_after: float = 5.0,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.hub = hub
        self.symbols = tuple(symbols)
        self.interval = interval
        self.keep = keep
        self.backoff = backoff or Backoff()
        self.last_end_ms = 0
        """End of the latest window published (a reopened feed starts there)."""
        self.published = 0
        self.failures = 0
        self.stale_after = stale_after
        self._clock = clock
        self._topics = {symbol: bar_topic(symbol, interval) for symbol in self.symbols}
        self._final_start: dict[str, int] = {}
        """Per topic: the window start of the newest final bar published (forming ones before it drop)."""
        self._heard: dict[str, tuple[int, float | None]] = {}
        """Per topic: the last seq seen and the wall time it was seen (None before the first bar)."""
        for topic in self._topics.values():
            fresh = not hub.declared(topic)
            hub.declare(topic, view=RecentBars(keep))  # staleness is ours: see watch()
            if fresh:
                hub.set_status(topic, Status.STALE, WAITING)
            seq = hub.last_seq(topic)
            self._heard[topic] = (seq, clock() if seq else None)

    @property
    def topics(self) -> list[str]:
        """The symbols' topics."""
        return list(self._topics.values())

    async def pump(self, records: AsyncIterable[Message]) -> int:
        """Publish the bars of ``records`` (others and malformed ones are skipped); how many."""
        count = 0
        width = interval_ms(self.interval)
        async for record in records:
            try:
                bar = decode_bar(record.value)
            except MalformedEventError as exc:
                log.warning("skipping a malformed bar record: %s", exc)
                continue
            topic = self._topics.get(bar.symbol)
            if topic is None or bar.interval != self.interval:
                continue
            if bar.forming:
                if bar.start <= self._final_start.get(topic, -1):
                    continue
            else:
                self._final_start[topic] = max(bar.start, self._final_start.get(topic, -1))
                self.last_end_ms = max(self.last_end_ms, bar.start + width)
            self._heard[topic] = (await self.hub.publish(topic, bar_data(bar)), self._clock())
            self.published += 1
            count += 1
            if count % _YIELD_EVERY == 0:  # a burst (warm-up, a Kafka backlog) must not starve the loop
                await asyncio.sleep(0)
        return count

    def warm(self, history: Mapping[str, Sequence[Bar]]) -> int:
        """Show stored bars until the feed's first: each symbol's ``history`` (oldest first) goes into
        its topic's snapshot, unsent and unnumbered (:meth:`Hub.seed`), and the topic stays stale, ``no
        bars since <end of its last stored window>``; a reopened feed starts after the newest. Topics
        that have bars already are left alone. How many bars."""
        count = 0
        width = interval_ms(self.interval)
        for symbol, bars in history.items():
            topic = self._topics.get(symbol)
            chosen = [bar for bar in bars if bar.interval == self.interval and not bar.forming]
            if topic is None or not chosen or self.hub.last_seq(topic):
                continue
            count += self.hub.seed(topic, (bar_data(bar) for bar in chosen))
            end_ms = max(bar.start for bar in chosen) + width
            self.last_end_ms = max(self.last_end_ms, end_ms)
            self._heard[topic] = (0, end_ms / 1000)
            self.hub.set_status(topic, Status.STALE, f"{WAITING} ({self._last_bar_at(topic)})")
        return count

    def mark_stale(self, detail: str) -> None:
        """Tell every subscriber the data stopped (the next bar makes a topic live again); the detail
        gets ``(no bars since <time of the topic's last bar>)`` once the topic had one."""
        for topic in self._topics.values():
            since = self._last_bar_at(topic)
            self.hub.set_status(topic, Status.STALE, detail if since is None else f"{detail} ({since})")

    def check(self) -> None:
        """One round of :meth:`watch`: a live topic without a bar for ``stale_after`` s turns stale."""
        now = self._clock()
        for topic in self._topics.values():
            seq = self.hub.last_seq(topic)
            if seq != self._heard[topic][0]:  # a bar this worker did not publish itself (a relay)
                self._heard[topic] = (seq, now)
                continue
            heard = self._heard[topic][1]
            state, _ = self.hub.status(topic)
            if state is Status.LIVE and heard is not None and now - heard > self.stale_after:
                self.hub.set_status(topic, Status.STALE, self._last_bar_at(topic) or WAITING)

    async def watch(self, every: float = 0.5) -> None:
        """Run :meth:`check` every ``every`` seconds, for ever (a lifespan task on every worker)."""
        while True:
            await asyncio.sleep(every)
            self.check()

    def _last_bar_at(self, topic: str) -> str | None:
        heard = self._heard[topic][1]
        return None if heard is None else f"no bars since {utc_stamp(heard)}"

    async def follow(self, feed: Feed) -> None:
        """Publish ``feed``'s bars for ever: reopen it when it ends, back off when it fails."""
        while True:
            try:
                async with feed(self.last_end_ms) as records:
                    count = await self.pump(records)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the app keeps serving: log, mark stale, try again
                self.failures += 1
                log.exception("the live market feed failed (%d in a row)", self.failures)
                self.mark_stale(f"feed failed: {type(exc).__name__}: {exc}"[:200])
                await asyncio.sleep(self.backoff.delay(self.failures))
                continue
            self.failures = 0
            # a feed that ends at once must not spin; one that ended after a pass reopens at once
            await asyncio.sleep(self.backoff.first if count == 0 else 0)


def common_history(bars: pa.Table) -> pa.Table:
    """The bars from the first date on which every symbol has one, so that no topic waits in silence
    while the replay goes through years before a symbol's listing."""
    import pyarrow.compute as pc  # type: ignore[import-untyped]  # noqa: PLC0415 - pyarrow only when replaying

    if bars.num_rows == 0:
        msg = "no stored bars for the live symbols: run `quanta data load`"
        raise ValueError(msg)
    firsts = bars.group_by("symbol").aggregate([("ts", "min")])
    return bars.filter(pc.greater_equal(bars.column("ts"), pc.max(firsts.column("ts_min"))))


class ReplayFeed:
    """A :data:`Feed` replaying stored daily bars as live ticks, one trading day per ``1 / speed`` s.

    ``load()`` returns the bars (bars schema; called once, in a worker thread). The first opening
    starts ``warmup`` trading days in the past, so those replay at once and the chart and the
    indicators have history from the first second; each reopening (the replay ended, or failed)
    starts at the last published window, so time keeps going forward.
    """

    def __init__(
        self,
        load: Callable[[], pa.Table],
        *,
        speed: float = 1.0,
        warmup: int = 120,
        seed: int = 7,
        ticks_per_bar: int = 16,
        interval: str = INTERVAL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._load = load
        self._bars: pa.Table | None = None
        self.speed = speed
        self.period_ms = day_ms(speed)
        self.warmup = warmup
        self.seed = seed
        self.ticks_per_bar = ticks_per_bar
        self.interval = interval
        self._clock = clock
        self.openings = 0

    @contextlib.asynccontextmanager
    async def __call__(self, not_before_ms: int) -> AsyncIterator[AsyncIterable[Message]]:
        """The bar and forming-bar records of one pass over the stored bars (ends when the pass does)."""
        if self._bars is None:
            self._bars = await asyncio.to_thread(self._load)
        now_ms = int(self._clock() * 1000)
        width = interval_ms(self.interval)
        origin = max(now_ms - self.warmup * self.period_ms, not_before_ms)
        origin = -(-origin // width) * width  # windows line up with trading days at speed 1
        ticks = replay_ticks(
            self._bars, seed=self.seed + self.openings, origin_ms=origin, speed=self.speed,
            ticks_per_bar=self.ticks_per_bar,
        )  # fmt: skip
        self.openings += 1
        config = BarConfig(intervals=(self.interval,))
        async with EmbeddedMarket(TickReplay(ticks, pace_origin_ms=now_ms), config=config) as market:
            final = market.bus.subscribe(market.topics.bars(self.interval), from_beginning=True)
            forming = market.bus.subscribe(market.topics.forming(self.interval))
            bars = merge(final, forming)
            finished = asyncio.create_task(market.wait(), name="live-replay")
            try:
                yield bars
            finally:
                await bars.aclose()
                if not finished.done():
                    finished.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await finished
