"""Fixtures for the Flink tests: the PyFlink environment, topics per test, Kafka produce and read."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from pipelines.flink import bars, paths
from pipelines.kafka import ensure_topics
from tests.flink.ticks import CONFIG, Record


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def flink_python() -> Path:
    """``.venv-flink``'s interpreter and the connector jar exist (``make flink``), or the test fails."""
    paths.connector_jar()
    return paths.flink_python()


@pytest.fixture
def job_config(kafka_bootstrap: str, tmp_path: Path, flink_python: Path) -> bars.BarsJobConfig:
    """The bars job on fresh topics (one partition each), checkpointing every second under tmp_path."""
    namespace = f"flink-{uuid.uuid4().hex[:8]}."
    config = bars.BarsJobConfig(
        bootstrap=kafka_bootstrap,
        namespace=namespace,
        intervals=CONFIG.intervals,
        out_of_orderness_ms=CONFIG.out_of_orderness_ms,
        allowed_lateness_ms=CONFIG.allowed_lateness_ms,
        group_id=f"{namespace}bars",
        transactional_id_prefix=f"{namespace}bars",
        transaction_timeout_ms=60_000,
        checkpoint_dir=tmp_path / "checkpoints",
        checkpoint_interval_ms=1000,
    )
    topics = [config.ticks_topic, config.dead_letter_topic, *(config.bars_topic(i) for i in config.intervals)]
    asyncio.run(ensure_topics(kafka_bootstrap, topics, partitions=1))
    return config


async def produce(
    bootstrap: str, topic: str, records: Iterable[Record], *, batch: int = 0, pause: float = 0.0
) -> None:
    """Send the records in order (idempotent producer); with ``batch``, pause after every ``batch``."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        for index, record in enumerate(records, 1):
            key = None if record.key is None else record.key.encode()
            await producer.send(topic, key=key, value=record.value)
            if batch and index % batch == 0:
                await producer.flush()
                await asyncio.sleep(pause)
        await producer.flush()
    finally:
        await producer.stop()


@dataclass
class Received:
    """Committed records per topic, in the order read."""

    values: dict[str, list[bytes]]
    keys: dict[str, list[bytes | None]]
    timestamps: dict[str, list[int]]

    def total(self) -> int:
        return sum(len(v) for v in self.values.values())


async def read_committed(
    bootstrap: str, counts: dict[str, int], *, timeout: float = 120.0, linger: float = 1.5
) -> Received:
    """Read each topic from the start until it has ``counts[topic]`` records, then ``linger`` seconds more.

    Only committed records (``read_committed``): what a downstream consumer of the job would see.
    """
    consumer = AIOKafkaConsumer(
        *counts, bootstrap_servers=bootstrap, auto_offset_reset="earliest", isolation_level="read_committed"
    )
    got = Received({t: [] for t in counts}, {t: [] for t in counts}, {t: [] for t in counts})
    loop = asyncio.get_running_loop()
    await consumer.start()
    try:
        deadline = loop.time() + timeout
        done_at: float | None = None
        while loop.time() < deadline and (done_at is None or loop.time() < done_at + linger):
            for partition, messages in (await consumer.getmany(timeout_ms=300)).items():
                got.values[partition.topic] += [m.value or b"" for m in messages]
                got.keys[partition.topic] += [m.key for m in messages]
                got.timestamps[partition.topic] += [m.timestamp for m in messages]
            if done_at is None and all(len(got.values[t]) >= n for t, n in counts.items()):
                done_at = loop.time()
    finally:
        await consumer.stop()
    return got
