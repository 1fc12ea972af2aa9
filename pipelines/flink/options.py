"""What both Flink jobs share: the Flink options of a local mini cluster with one slot, small memory
pools and exactly-once checkpoints kept on cancel (so a restarted job restores from the latest one), and
the command-line options for Kafka, transactions, checkpoints and the JVM."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol


class JobSettings(Protocol):
    """The settings every job's configuration has (``BarsJobConfig``, ``ScoresJobConfig``)."""

    @property
    def bootstrap(self) -> str: ...
    @property
    def namespace(self) -> str: ...
    @property
    def group_id(self) -> str: ...
    @property
    def transactional_id_prefix(self) -> str: ...
    @property
    def transaction_timeout_ms(self) -> int: ...
    @property
    def checkpoint_dir(self) -> Path: ...
    @property
    def checkpoint_interval_ms(self) -> int: ...
    @property
    def restore_from(self) -> Path | None: ...
    @property
    def jvm_heap_mb(self) -> int: ...
    @property
    def extra(self) -> dict[str, str]: ...


def add_job_options(p: argparse.ArgumentParser, defaults: JobSettings) -> None:
    """The command-line options of :class:`JobSettings`, with ``defaults``' values as defaults."""
    d = defaults
    p.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers, host:port[,host:port]")
    p.add_argument("--namespace", default=d.namespace, help="topic name prefix (tests use one per test)")
    p.add_argument("--group-id", default=d.group_id)
    p.add_argument("--transactional-id-prefix", default=d.transactional_id_prefix)
    p.add_argument("--transaction-timeout-ms", type=int, default=d.transaction_timeout_ms)
    p.add_argument("--checkpoint-dir", type=Path, default=d.checkpoint_dir)
    p.add_argument("--checkpoint-interval-ms", type=int, default=d.checkpoint_interval_ms)
    p.add_argument("--restore-from", type=Path, help="a checkpoint (chk-N) or savepoint folder to resume")
    p.add_argument("--jvm-heap-mb", type=int, default=d.jvm_heap_mb)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="any Flink option")


def job_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The :class:`JobSettings` fields that parsed :func:`add_job_options` give (paths made absolute)."""
    return {
        "bootstrap": args.bootstrap,
        "namespace": args.namespace,
        "group_id": args.group_id,
        "transactional_id_prefix": args.transactional_id_prefix,
        "transaction_timeout_ms": args.transaction_timeout_ms,
        "checkpoint_dir": args.checkpoint_dir.resolve(),
        "checkpoint_interval_ms": args.checkpoint_interval_ms,
        "restore_from": None if args.restore_from is None else args.restore_from.resolve(),
        "jvm_heap_mb": args.jvm_heap_mb,
        "extra": dict(item.split("=", 1) for item in args.set),
    }


def job_args(config: JobSettings) -> list[str]:
    """The command-line arguments that :func:`job_settings` turns back into ``config``'s settings."""
    args = [
        f"--bootstrap={config.bootstrap}",
        f"--namespace={config.namespace}",
        f"--group-id={config.group_id}",
        f"--transactional-id-prefix={config.transactional_id_prefix}",
        f"--transaction-timeout-ms={config.transaction_timeout_ms}",
        f"--checkpoint-dir={config.checkpoint_dir}",
        f"--checkpoint-interval-ms={config.checkpoint_interval_ms}",
        f"--jvm-heap-mb={config.jvm_heap_mb}",
    ]
    if config.restore_from is not None:
        args.append(f"--restore-from={config.restore_from}")
    args.extend(f"--set={key}={value}" for key, value in config.extra.items())
    return args


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
