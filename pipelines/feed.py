"""Publish live ticks: ``python -m pipelines.feed --source replay --symbols GOOG,AAPL --speed 1``.

Sources: ``replay`` (the stored daily bars of the symbols as intrabar ticks; run ``make data``
first) and ``synthetic`` (a seeded regime-switching market). ``--speed`` is in trading days per
second; ``--fast`` publishes as fast as Kafka takes the ticks instead of in real time.

With ``--bootstrap`` (or ``QUANTA_KAFKA_BOOTSTRAP``) the ticks go to the ``quanta.ticks`` topic and
``pipelines.bars`` makes the bars. Without (or with ``--in-process``), feed and bars run here on the
in-process bus and the bars are printed as JSON lines — the embedded live market on the console.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import date

import click

from pipelines._options import bootstrap_or_settings, kafka_options, topics
from pipelines.kafka import KafkaTransport, ensure_topics
from quanta.data import connect
from quanta.settings import get_settings
from quanta.streaming import (
    BarConfig,
    EmbeddedMarket,
    Tick,
    TickFeed,
    TickReplay,
    Topics,
    load_bars,
    replay_ticks,
    synthetic_ticks_live,
)
from quanta.streaming.synthetic import DEFAULT_DAYS


def make_ticks(
    source: str,
    symbols: Sequence[str],
    *,
    seed: int,
    origin_ms: int,
    speed: float,
    ticks_per_bar: int,
    start: date | None = None,
    end: date | None = None,
    days: int = DEFAULT_DAYS,
) -> Iterator[Tick]:
    """The ticks of a ``replay`` of the stored bars or of a ``synthetic`` market, in event-time order."""
    if source == "synthetic":
        return synthetic_ticks_live(
            symbols, seed=seed, origin_ms=origin_ms, speed=speed, ticks_per_bar=ticks_per_bar, days=days
        )
    con = connect(get_settings())
    bars = load_bars(con, symbols, start=start, end=end)
    return replay_ticks(bars, seed=seed, origin_ms=origin_ms, speed=speed, ticks_per_bar=ticks_per_bar)


async def publish_to_kafka(
    bootstrap: str, ticks: Iterator[Tick], *, names: Topics, origin_ms: int | None, partitions: int
) -> int:
    """Publish ``ticks`` (paced from ``origin_ms`` unless None) to the ticks topic; return the count."""
    await ensure_topics(bootstrap, [names.ticks], partitions=partitions)
    async with KafkaTransport(bootstrap, client_id="quanta-feed") as transport:
        feed = TickFeed(transport, topics=names)
        return await feed.run(TickReplay(ticks, pace_origin_ms=origin_ms))


async def run_in_process(
    ticks: Iterator[Tick], *, names: Topics, origin_ms: int | None, interval: str
) -> None:
    """Feed and bars on the in-process bus; print the ``interval`` bars as JSON lines."""
    config = BarConfig()
    async with EmbeddedMarket(
        TickReplay(ticks, pace_origin_ms=origin_ms), config=config, topics=names
    ) as market:
        printer = asyncio.create_task(_print_bars(market, interval))
        await market.wait()
        await printer


async def _print_bars(market: EmbeddedMarket, interval: str) -> None:
    async with market.bus.subscribe(market.topics.bars(interval), from_beginning=True) as bars:
        async for message in bars:
            sys.stdout.write(message.value.decode() + "\n")


@click.command()
@click.option("--source", type=click.Choice(["replay", "synthetic"]), default="replay", show_default=True)
@click.option("--symbols", default="GOOG,AAPL", show_default=True, help="Comma-separated symbols.")
@click.option("--speed", type=float, default=1.0, show_default=True, help="Trading days per second.")
@click.option("--ticks-per-bar", type=int, default=16, show_default=True, help="Ticks per daily bar.")
@click.option("--seed", type=int, default=7, show_default=True, help="Seed of the intrabar paths.")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None, help="First day to replay.")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last day to replay.")
@click.option("--days", type=int, default=DEFAULT_DAYS, show_default=True, help="Synthetic: trading days.")
@click.option("--fast", is_flag=True, help="Publish as fast as possible instead of in real time.")
@click.option("--partitions", type=int, default=3, show_default=True, help="Partitions of a new ticks topic.")
@click.option("--in-process", is_flag=True, help="Run feed and bars here even if Kafka is configured.")
@click.option("--print-interval", default="1s", show_default=True, help="In-process mode: bars to print.")
@kafka_options
def main(
    *,
    source: str,
    symbols: str,
    speed: float,
    ticks_per_bar: int,
    seed: int,
    start: date | None,
    end: date | None,
    days: int,
    fast: bool,
    partitions: int,
    in_process: bool,
    print_interval: str,
    bootstrap: str | None,
    namespace: str,
) -> None:
    """Publish replayed or synthetic ticks to Kafka, or run the live market in process."""
    origin_ms = int(time.time()) * 1000
    ticks = make_ticks(
        source,
        [s.strip() for s in symbols.split(",") if s.strip()],
        seed=seed,
        origin_ms=origin_ms,
        speed=speed,
        ticks_per_bar=ticks_per_bar,
        start=start,
        end=end,
        days=days,
    )
    pace = None if fast else origin_ms
    servers = None if in_process else bootstrap_or_settings(bootstrap)
    if servers is None:
        asyncio.run(run_in_process(ticks, names=topics(namespace), origin_ms=pace, interval=print_interval))
        return
    count = asyncio.run(
        publish_to_kafka(servers, ticks, names=topics(namespace), origin_ms=pace, partitions=partitions)
    )
    click.echo(f"published {count} ticks to {topics(namespace).ticks} on {servers}", err=True)


if __name__ == "__main__":
    main()
