"""``python -m pipelines.feed``: in process (bars printed) and into Kafka."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from click.testing import CliRunner

from pipelines import feed
from pipelines.kafka import KafkaTransport
from quanta.streaming import Topics, decode_tick


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
