"""The app's broadcast: one hub per worker, its websocket ``/live/ws``, and the live market feed.

``install_live(api)`` (in ``quanta_app.api``) declares the market topics and mounts the websocket;
``run_live`` (a lifespan task) runs the hub — with ``QUANTA_REDIS_URL``, through Redis, so every worker
numbers the messages alike —, fills the market topics' snapshots with their last bars stored under
``<QUANTA_VAR_DIR>/history`` (a restarted app shows its chart at once; stale until the feed's first
bar), and keeps the market feed going:

- no ``QUANTA_KAFKA_BOOTSTRAP``: the stored daily bars of ``QUANTA_LIVE_SYMBOLS`` replayed as live
  ticks (``QUANTA_LIVE_SPEED`` trading days per second, looping), through ``EmbeddedMarket``; the bars
  are also kept in ``<QUANTA_VAR_DIR>/history`` (``pipelines.history``, as ``python -m
  pipelines.history`` does for Kafka);
- with it: the bars of ``quanta.bars.1s`` and the forming bars of ``quanta.bars.1s.forming`` read from
  Kafka (produced by ``pipelines.bars``, or the Flink job plus ``pipelines.bars --forming-only``).

With several workers (Redis), one worker at a time runs the feed (a Redis lease); the others relay.
Every worker watches the market topics (``MarketBroadcast.watch``): without bars for 5 s a topic turns
stale, ``no bars since <time of its last bar>``, and live again with the next bar — with Kafka down the
consumer keeps retrying, so bars resume by themselves when the broker is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from functools import lru_cache

import pyarrow as pa  # type: ignore[import-untyped]
from fastapi import FastAPI

from pipelines.history import BarHistory
from pipelines.kafka import DEFAULT_PARTITIONS, KafkaTransport, ensure_topics
from quanta import data
from quanta.aio import cancel_and_wait
from quanta.broadcast import Hub, RedisLease, RedisRelay
from quanta.broadcast.asgi import Peer, install_broadcast
from quanta.broadcast.market import INTERVAL, Feed, MarketBroadcast, ReplayFeed, common_history
from quanta.settings import Settings, get_settings
from quanta.streaming import Bar, MalformedEventError, Message, Topics, decode_bar, load_bars
from quanta.streaming.transport import merge

log = logging.getLogger(__name__)

PUBLIC_PREFIXES = ("market.", "competition.")
TopicRule = Callable[[str, Peer], bool | Awaitable[bool]]
_private_rules: dict[str, TopicRule] = {}


def register_topic_rule(prefix: str, rule: TopicRule) -> None:
    """Who may follow the topics starting with ``prefix`` (e.g. ``chat.``, ``paper.``): ``rule(topic, peer)``.

    Each area that publishes private topics registers its rule once, at import; the rule reads the
    session from ``peer.cookies`` (``quanta.accounts.service.session_token_in``).
    """
    _private_rules[prefix] = rule


@lru_cache(maxsize=1)
def live_hub() -> Hub:
    """This worker's hub (relayed through Redis when ``QUANTA_REDIS_URL`` is set)."""
    settings = get_settings()
    return Hub(relay=RedisRelay(settings.redis_url) if settings.redis_url else None)


@lru_cache(maxsize=1)
def live_market() -> MarketBroadcast:
    """The market topics of ``QUANTA_LIVE_SYMBOLS`` on this worker's hub."""
    return MarketBroadcast(live_hub(), get_settings().live_symbol_list)


async def authorize(topic: str, peer: Peer) -> bool:
    """Market and competition topics are public; a private topic asks the rule registered for its prefix."""
    if topic.startswith(PUBLIC_PREFIXES):
        return True
    for prefix, rule in _private_rules.items():
        if topic.startswith(prefix):
            allowed = rule(topic, peer)
            return await allowed if inspect.isawaitable(allowed) else allowed
    return False


def install_live(api: FastAPI) -> None:
    """Declare the market topics and serve the hub at ``/live/ws``."""
    live_market()
    install_broadcast(api, live_hub(), authorize=authorize)


@contextlib.asynccontextmanager
async def run_live() -> AsyncIterator[None]:
    """Lifespan task: run the hub, the market topics' stale watch and, unless ``QUANTA_LIVE_FEED=false``,
    the market feed."""
    settings = get_settings()
    async with live_hub().running():
        await warm_from_history(live_market(), BarHistory(settings.var_dir / "history"))
        tasks = [asyncio.create_task(live_market().watch(), name="live-market-watch")]
        if settings.live_feed:
            tasks.append(asyncio.create_task(_keep_feeding(settings), name="live-market"))
        try:
            yield
        finally:
            await cancel_and_wait(*tasks)


async def warm_from_history(market: MarketBroadcast, history: BarHistory) -> int:
    """Fill the market topics' snapshots with their last stored bars, so that a restarted app shows
    the chart at once (stale, "no bars since …", until the feed's first bar); how many bars."""
    try:
        stored = await asyncio.to_thread(history.recent, market.interval, market.symbols, market.keep)
    except Exception:  # a damaged file costs the warm start, not the app
        log.exception("could not read the bar history under %s", history.root)
        return 0
    return market.warm(stored)


async def _keep_feeding(settings: Settings) -> None:
    market = live_market()
    if settings.kafka_bootstrap:
        feed = kafka_feed(settings.kafka_bootstrap)
    else:
        feed = recorded(replay_feed(settings), BarHistory(settings.var_dir / "history"))
    if settings.redis_url:
        await RedisLease(settings.redis_url, "market-feed").run(lambda: market.follow(feed))
    else:
        await market.follow(feed)


def replay_feed(settings: Settings) -> ReplayFeed:
    """The stored bars of the live symbols, replayed in real time."""
    symbols = settings.live_symbol_list

    def load() -> pa.Table:
        con = data.connect(settings, read_only=True)
        try:
            stored = set(data.symbols(con))
            missing = [s for s in symbols if s not in stored]
            if missing:
                log.warning("live symbols without stored bars (run `quanta data load`): %s", missing)
            return common_history(load_bars(con, [s for s in symbols if s in stored]))
        finally:
            con.disconnect()

    return ReplayFeed(load, speed=settings.live_speed)


def recorded(feed: Feed, history: BarHistory, *, every: float = 2.0) -> Feed:
    """``feed``, with its bars (not the forming ones) also upserted into ``history`` (batched every
    ``every`` seconds, written in a worker thread; what is pending when the feed closes is written then)."""

    @contextlib.asynccontextmanager
    async def open_feed(not_before_ms: int) -> AsyncIterator[AsyncIterable[Message]]:
        async with feed(not_before_ms) as records:
            tee = _tee(records, history, every)
            try:
                yield tee
            finally:
                await tee.aclose()  # writes what is pending

    return open_feed


async def _tee(records: AsyncIterable[Message], history: BarHistory, every: float) -> AsyncIterator[Message]:
    pending: list[Bar] = []
    last = time.monotonic()
    try:
        async for record in records:
            with contextlib.suppress(MalformedEventError):  # MarketBroadcast logs and skips those
                bar = decode_bar(record.value)
                if not bar.forming:  # history keeps closed windows only
                    pending.append(bar)
            yield record
            if time.monotonic() - last >= every:
                batch, pending, last = pending, [], time.monotonic()
                await asyncio.to_thread(history.write, batch)
    finally:
        if pending:
            history.write(pending)


def kafka_feed(bootstrap: str, *, topics: Topics | None = None) -> Feed:
    """The 1-second bars and forming bars on Kafka, from now on (private consumers: every worker may
    read them). The forming topic is created if missing, so a deployment without forming bars (the
    Flink job alone) still gets its bars."""
    names = topics or Topics()
    final, forming = names.bars(INTERVAL), names.forming(INTERVAL)

    @contextlib.asynccontextmanager
    async def open_feed(not_before_ms: int) -> AsyncIterator[AsyncIterable[Message]]:
        del not_before_ms  # Kafka's bars carry their own times
        await ensure_topics(bootstrap, [forming], partitions=DEFAULT_PARTITIONS)
        transport = KafkaTransport(bootstrap)
        async with transport.subscribe(final) as bars, transport.subscribe(forming) as provisional:
            records = merge(bars, provisional)
            try:
                yield records
            finally:
                await records.aclose()

    return open_feed
