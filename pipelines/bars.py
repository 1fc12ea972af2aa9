"""The bar job over Kafka: ``python -m pipelines.bars --bootstrap 127.0.0.1:9092``.

Reads ``quanta.ticks``, writes ``quanta.bars.<interval>`` and ``quanta.ticks.dlq`` with the
operators of :mod:`quanta.streaming` (the same code the embedded market runs in process). Stops on
Ctrl-C or SIGTERM after flushing its open windows and committing its offsets.
"""

from __future__ import annotations

import asyncio
import signal

import click

from pipelines._options import bootstrap_or_settings, kafka_options, topics
from pipelines.kafka import KafkaTransport, ensure_topics
from quanta.streaming import BarConfig, BarJob, Topics
from quanta.streaming.jobs import DEFAULT_GROUP


async def run_bar_job(
    bootstrap: str, *, config: BarConfig, names: Topics, group: str = DEFAULT_GROUP, partitions: int = 3
) -> BarJob:
    """Run the job until SIGINT/SIGTERM; return it (its counters) when it has stopped."""
    outputs = [names.bars(interval) for interval in config.intervals]
    await ensure_topics(bootstrap, [names.ticks, names.dead_letters, *outputs], partitions=partitions)
    async with KafkaTransport(bootstrap, client_id="quanta-bars") as transport:
        job = BarJob(transport, config=config, topics=names, group=group)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, job.stop)
        await job.run()
        return job


@click.command()
@click.option("--intervals", default="1s,1m", show_default=True, help="Bar intervals, comma-separated.")
@click.option("--out-of-orderness-ms", type=int, default=500, show_default=True)
@click.option("--allowed-lateness-ms", type=int, default=2000, show_default=True)
@click.option("--indicators", default="SMA:20,EMA:20,RSI:14", show_default=True)
@click.option("--group", default=DEFAULT_GROUP, show_default=True, help="Kafka consumer group.")
@click.option("--partitions", type=int, default=3, show_default=True, help="Partitions of new topics.")
@kafka_options
def main(
    *,
    intervals: str,
    out_of_orderness_ms: int,
    allowed_lateness_ms: int,
    indicators: str,
    group: str,
    partitions: int,
    bootstrap: str | None,
    namespace: str,
) -> None:
    """Turn the ticks topic into bar topics with indicators, and a dead-letter topic."""
    servers = bootstrap_or_settings(bootstrap)
    if servers is None:
        raise click.UsageError("no Kafka: pass --bootstrap or set QUANTA_KAFKA_BOOTSTRAP")
    config = BarConfig(
        intervals=tuple(i.strip() for i in intervals.split(",") if i.strip()),
        out_of_orderness_ms=out_of_orderness_ms,
        allowed_lateness_ms=allowed_lateness_ms,
        indicators=tuple(i.strip() for i in indicators.split(",") if i.strip()),
    )
    job = asyncio.run(
        run_bar_job(servers, config=config, names=topics(namespace), group=group, partitions=partitions)
    )
    click.echo(f"processed {job.processed} ticks: {job.bars} bars, {job.dead_letters} dead letters", err=True)


if __name__ == "__main__":
    main()
