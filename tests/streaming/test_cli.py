"""``python -m pipelines.feed``: in process (bars printed) and into Kafka; ``python -m pipelines.history``."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelines import feed
from pipelines.history import BarHistory
from pipelines.kafka import KafkaTransport, ensure_topics
from quanta.streaming import Bar, Topics, decode_tick, encode_bar
from tests.streaming.conftest import ORIGIN


def test_feed_without_kafka_runs_the_market_in_process_and_prints_bars() -> None:
    args = ["--source", "synthetic", "--symbols", "AAA,BBB", "--days", "30", "--fast", "--in-process"]
    result = CliRunner().invoke(feed.main, args)
    assert result.exit_code == 0, result.output
    bars = [json.loads(line) for line in result.stdout.splitlines()]
    # One trading day per second: each 1-second bar is one synthetic daily bar.
    assert sorted({(b["s"], b["i"]) for b in bars}) == [("AAA", "1s"), ("BBB", "1s")]
    assert [b["n"] for b in bars if b["s"] == "AAA"] == [16] * 30


@pytest.mark.kafka
def test_feed_publishes_to_kafka_keyed_by_symbol(kafka_bootstrap: str) -> None:
    namespace = f"cli-{uuid.uuid4().hex[:8]}."
    args = ["--source", "synthetic", "--symbols", "AAA", "--days", "10", "--fast"]
    args += ["--bootstrap", kafka_bootstrap, "--namespace", namespace, "--partitions", "1"]
    result = CliRunner().invoke(feed.main, args)
    assert result.exit_code == 0, result.output
    assert f"published 160 ticks to {namespace}quanta.ticks" in result.stderr

    async def first_and_last() -> tuple[bytes | None, list[int]]:
        seqs: list[int] = []
        subscription = KafkaTransport(kafka_bootstrap).subscribe(
            Topics(namespace=namespace).ticks, from_beginning=True
        )
        async with subscription:
            async for message in subscription:
                seqs.append(decode_tick(message.value).seq)
                if len(seqs) == 160:
                    return message.key and message.key.encode(), seqs
        return None, seqs

    key, seqs = asyncio.run(asyncio.wait_for(first_and_last(), 60))
    assert (key, seqs) == (b"AAA", list(range(160)))


@pytest.mark.kafka
def test_history_command_stores_the_bars_topics_and_stops_on_sigint(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    namespace = f"cli-{uuid.uuid4().hex[:8]}."
    topics = Topics(namespace=namespace)
    bars = [Bar("AAA", interval, ORIGIN + 60_000 * i, 1.0, 2.0, 0.5, 1.5, 3.0, 4) for i in range(5)
            for interval in ("1s", "1m")]  # fmt: skip
    asyncio.run(ensure_topics(kafka_bootstrap, [topics.bars("1s"), topics.bars("1m")]))
    command = [sys.executable, "-m", "pipelines.history", "--root", str(tmp_path)]
    command += ["--bootstrap", kafka_bootstrap, "--namespace", namespace]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:

        async def publish() -> None:
            async with KafkaTransport(kafka_bootstrap) as transport:
                for bar in bars:
                    await transport.publish(topics.bars(bar.interval), bar.symbol, encode_bar(bar))
                await transport.flush()

        asyncio.run(publish())
        deadline = time.monotonic() + 60
        while BarHistory(tmp_path).read().num_rows < len(bars):
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the bars were not stored"
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert f"stored {len(bars)} bar records under {tmp_path}" in stderr
    assert sorted(p.relative_to(tmp_path).parts[0] for p in tmp_path.rglob("*.parquet")) == ["1m", "1s"]
