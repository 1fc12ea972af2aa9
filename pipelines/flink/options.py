"""The Flink options both jobs share: a local mini cluster with one slot, small memory pools and
exactly-once checkpoints kept on cancel, so a restarted job restores from the latest one."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def mini_cluster_options(
    *,
    python: str,
    connector_jar: Path,
    checkpoint_interval_ms: int,
    checkpoint_dir: Path,
    restore_from: Path | None,
    job: Mapping[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The options of one job: the shared ones, then the job's own (``job``), then ``extra`` (``--set``)."""
    options = {
        "parallelism.default": "1",
        "pipeline.jars": connector_jar.resolve().as_uri(),
        "python.executable": python,
        "python.client.executable": python,
        "execution.checkpointing.interval": f"{checkpoint_interval_ms} ms",
        "execution.checkpointing.mode": "EXACTLY_ONCE",
        "execution.checkpointing.dir": checkpoint_dir.resolve().as_uri(),
        "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
        "execution.checkpointing.num-retained": "2",
        "state.backend.type": "hashmap",
        "restart-strategy.type": "fixed-delay",
        "restart-strategy.fixed-delay.attempts": "3",
        "restart-strategy.fixed-delay.delay": "2 s",
        # The mini cluster lives in the client's JVM (heap: JVM_ARGS); these keep Flink's own pools small.
        "taskmanager.memory.managed.size": "16 mb",
        "taskmanager.memory.network.min": "16 mb",
        "taskmanager.memory.network.max": "16 mb",
        "taskmanager.numberOfTaskSlots": "1",
        "rest.bind-address": "127.0.0.1",
        "rest.address": "127.0.0.1",
        **(job or {}),
    }
    if restore_from is not None:
        options["execution.state-recovery.path"] = restore_from.resolve().as_uri()
    options.update(extra or {})
    return options
