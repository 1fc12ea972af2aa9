"""The bar job over Kafka: ``python -m pipelines.bars --bootstrap 127.0.0.1:9092``.

Reads ``quanta.ticks``, writes ``quanta.bars.<interval>``, ``quanta.bars.<interval>.forming`` (the
open windows, every ``--forming-ms``) and ``quanta.ticks.dlq`` with the operators of
:mod:`quanta.streaming` (the same code the embedded market runs in process). ``--forming-only`` writes
just the forming bars, in its own consumer group: run it next to the Flink bars job. Stops on
Ctrl-C or SIGTERM after flushing its open windows and committing its offsets.
"""

from __future__ import annotations

import asyncio
import signal

import click

from pipelines._options import bootstrap_or_settings, kafka_options, topics
from pipelines.kafka import DEFAULT_PARTITIONS, KafkaTransport, ensure_topics
from quanta.streaming import BarConfig, BarJob, Topics
from quanta.streaming.jobs import DEFAULT_GROUP

FORMING_GROUP = "quanta-bars-forming"


async def run_bar_job(
    bootstrap: str,
    *,
    config: BarConfig,
    names: Topics,
    group: str = DEFAULT_GROUP,
    partitions: int = DEFAULT_PARTITIONS,
    forming_every: float | None = 0.1,
    forming_only: bool = False,
) -> BarJob:
    """Run the job until SIGINT/SIGTERM; return it (its counters) when it has stopped."""
    outputs = [names.bars(interval) for interval in config.intervals]
    if forming_every:
        outputs += [names.forming(interval) for interval in config.intervals]
    await ensure_topics(bootstrap, [names.ticks, names.dead_letters, *outputs], partitions=partitions)
    async with KafkaTransport(bootstrap, client_id="quanta-bars") as transport:
        job = BarJob(
            transport,
            config=config,
            topics=names,
            group=group,
            forming_every=forming_every,
            forming_only=forming_only,
        )
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
@click.option("--group", help=f"Consumer group [default: {DEFAULT_GROUP}; forming only: {FORMING_GROUP}]")
@click.option("--partitions", type=int, default=DEFAULT_PARTITIONS, show_default=True, help="Of new topics.")
@click.option("--forming-ms", type=int, default=100, show_default=True, help="Forming bars every (0: no).")
@click.option("--forming-only", is_flag=True, help="Only forming bars (next to the Flink bars job).")
@kafka_options
def main(
    *,
    intervals: str,
    out_of_orderness_ms: int,
    allowed_lateness_ms: int,
    indicators: str,
    group: str | None,
    partitions: int,
    forming_ms: int,
    forming_only: bool,
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
    if forming_only and forming_ms <= 0:
        raise click.UsageError("--forming-only needs --forming-ms > 0")
    job = asyncio.run(
        run_bar_job(
            servers,
            config=config,
            names=topics(namespace),
            group=group or (FORMING_GROUP if forming_only else DEFAULT_GROUP),
            partitions=partitions,
            forming_every=forming_ms / 1000 if forming_ms > 0 else None,
            forming_only=forming_only,
        )
    )
    click.echo(
        f"processed {job.processed} ticks: {job.bars} bars, {job.forming_bars} forming bars, "
        f"{job.dead_letters} dead letters",
        err=True,
    )


if __name__ == "__main__":
    main()
