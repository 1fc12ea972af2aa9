"""The paper desk over Kafka: ``python -m pipelines.paper --bootstrap 127.0.0.1:9092``.

Reads ``quanta.bars.<interval>``, runs every deployment whose status is running (following the app
database), writes ``quanta.orders`` and ``quanta.fills``. The producer is idempotent with ``acks=all``
and the desk stores each step before it publishes and skips windows it has stored, so a broker that
goes away and comes back neither loses nor duplicates a fill. Stops on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

import click

from pipelines._options import bootstrap_or_settings, kafka_options, topics
from pipelines.kafka import KafkaTransport, ensure_topics
from quanta.paper.desk import PaperDesk, follow_deployments
from quanta.settings import Settings, get_settings
from quanta.streaming import Topics


async def run_paper_desk(
    bootstrap: str, *, names: Topics, settings: Settings | None = None, partitions: int = 3
) -> None:
    """Run the desk until SIGINT/SIGTERM."""
    await ensure_topics(bootstrap, [names.orders, names.fills], partitions=partitions)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping.set)
    async with (
        KafkaTransport(bootstrap, client_id="quanta-paper") as transport,
        PaperDesk(transport, names, settings) as desk,
    ):
        following = asyncio.create_task(follow_deployments(desk, settings))
        await stopping.wait()
        following.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await following


@click.command()
@click.option("--partitions", type=int, default=3, show_default=True, help="Partitions of new topics.")
@kafka_options
def main(*, partitions: int, bootstrap: str | None, namespace: str) -> None:
    """Run the paper deployments of the app database on the Kafka bars."""
    servers = bootstrap_or_settings(bootstrap)
    if servers is None:
        raise click.UsageError("no Kafka: pass --bootstrap or set QUANTA_KAFKA_BOOTSTRAP")
    asyncio.run(
        run_paper_desk(servers, names=topics(namespace), settings=get_settings(), partitions=partitions)
    )


if __name__ == "__main__":
    main()
