"""The Flink bars job against the session's real Kafka broker, compared with quanta.streaming in process.

The job runs in ``.venv-flink`` as a subprocess (a local mini cluster); the ticks go in with aiokafka and
the bars and dead letters are read back with a ``read_committed`` consumer, as a downstream job would.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from pathlib import Path

import pytest

from pipelines.flink.bars import BarsJobConfig
from pipelines.flink.launch import RunningJob, latest_checkpoint, start_bars_job
from quanta.streaming import decode_bar, decode_dead_letter
from tests.flink.conftest import Received, produce, read_committed
from tests.flink.ticks import Expected, batch_indicators, comparable, in_process, tick_records

pytestmark = [pytest.mark.anyio, pytest.mark.kafka, pytest.mark.flink, pytest.mark.slow]


@pytest.fixture(scope="module")
def records_and_expected() -> tuple[list, Expected]:
    records = tick_records()
    return records, in_process(records)


def counts(config: BarsJobConfig, expected: Expected) -> dict[str, int]:
    wanted = {config.bars_topic(i): len(bars) for i, bars in expected.bars.items()}
    return {**wanted, config.dead_letter_topic: len(expected.dead_letters)}


def assert_same(got: Received, expected: Expected, config: BarsJobConfig, job: RunningJob) -> None:
    """Every closed window's bar exactly once, equal to the aggregator's last revision, its indicators
    equal to the batch ``quanta.indicators`` on the same bars bit for bit; same dead letters."""
    for interval, wanted in expected.bars.items():
        topic = config.bars_topic(interval)
        decoded = [decode_bar(value) for value in got.values[topic]]
        assert Counter(comparable(bar) for bar in decoded) == Counter(
            comparable(bar) for bar in wanted.values()
        ), f"{interval} bars differ\n{job.tail()}"
        assert {bar.rev for bar in decoded} == {0}
        wanted_x = batch_indicators(decoded, config.indicators)
        assert {(bar.symbol, bar.start): dict(bar.indicators) for bar in decoded} == wanted_x, (
            f"{interval} indicators differ from quanta.indicators on the same bars"
        )
        assert got.keys[topic] == [bar.symbol.encode() for bar in decoded]
        assert got.timestamps[topic] == [bar.start for bar in decoded]
    letters = [decode_dead_letter(value) for value in got.values[config.dead_letter_topic]]
    assert Counter((d.reason, d.key, d.payload) for d in letters) == Counter(
        (d.reason, d.key, d.payload) for d in expected.dead_letters
    ), f"dead letters differ\n{job.tail()}"


async def started(job: RunningJob) -> dict:
    return await asyncio.to_thread(job.wait_started)


async def test_flink_bars_equal_the_in_process_aggregators_final_bars(
    job_config: BarsJobConfig, tmp_path: Path, records_and_expected: tuple[list, Expected]
) -> None:
    records, expected = records_and_expected
    job = start_bars_job(job_config, log_dir=tmp_path / "flink")
    try:
        await produce(job_config.bootstrap, job_config.ticks_topic, records)
        await started(job)
        got = await read_committed(job_config.bootstrap, counts(job_config, expected))
    finally:
        job.stop()
    assert_same(got, expected, job_config, job)


async def test_flink_job_killed_mid_stream_resumes_from_its_checkpoint_without_loss_or_duplicates(
    job_config: BarsJobConfig, tmp_path: Path, records_and_expected: tuple[list, Expected]
) -> None:
    records, expected = records_and_expected
    first = start_bars_job(job_config, log_dir=tmp_path / "first")
    try:
        await started(first)
        # About 20 s of feed; the job checkpoints every second and is killed a few checkpoints in.
        feed = asyncio.create_task(
            produce(job_config.bootstrap, job_config.ticks_topic, records, batch=400, pause=0.7)
        )
        first_checkpoint = await wait_for_checkpoint(job_config.checkpoint_dir, number=3, job=first)
        before = await read_committed(job_config.bootstrap, {job_config.bars_topic("1s"): 1}, linger=0)
        await asyncio.sleep(0.5)  # bars of the next checkpoint are in flight in an open transaction
        first.kill()
        assert before.total() >= 1, "nothing was committed before the crash"
        assert not feed.done(), "the feed ended before the crash: the test did not crash mid-stream"
    finally:
        first.kill()
    checkpoint = latest_checkpoint(job_config.checkpoint_dir)
    assert checkpoint is not None
    assert int(checkpoint.name.removeprefix("chk-")) >= int(first_checkpoint.name.removeprefix("chk-"))
    second = start_bars_job(
        dataclasses.replace(job_config, restore_from=checkpoint), log_dir=tmp_path / "second"
    )
    try:
        await feed
        await started(second)
        got = await read_committed(job_config.bootstrap, counts(job_config, expected))
    finally:
        second.stop()
    assert f"from Savepoint {checkpoint.name.removeprefix('chk-')} " in second.tail(10**7)
    assert_same(got, expected, job_config, second)


async def wait_for_checkpoint(folder: Path, *, number: int, job: RunningJob, timeout: float = 90.0) -> Path:
    """Wait until checkpoint ``number`` (or a later one) is complete; fail if the job dies first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        assert job.running, job.tail()
        found = latest_checkpoint(folder)
        if found is not None and int(found.name.removeprefix("chk-")) >= number:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"no checkpoint {number} within {timeout:.0f}s\n{job.tail()}")
