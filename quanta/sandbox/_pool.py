"""Start and stop sandbox worker processes: ``start_workers(settings, count)`` returns a ``WorkerPool``.

Workers are separate Python processes (never forks of the web process, which holds threads, sockets
and secrets), started with a clean environment. Each reads its configuration from standard input and
keeps that pipe open as a lifeline; ``stop()`` closes it, waits, then kills what is left. A running
job of a stopping worker goes back to the queue.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from quanta.sandbox._config import READY, WorkerConfig
from quanta.sandbox.models import QueueConfig, SandboxLimits
from quanta.settings import Settings

_PASSED_ON = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "NUMBA_CACHE_DIR", "PYTHONPATH")
_ONE_THREAD = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}


class WorkerStartError(RuntimeError):
    """A worker died or did not warm up in time."""


def worker_environment() -> dict[str, str]:
    """The environment of a worker: a few harmless variables, no ``QUANTA_*`` and no other secret."""
    passed = {name: os.environ[name] for name in _PASSED_ON if name in os.environ}
    return passed | _ONE_THREAD


@dataclass(eq=False)
class WorkerPool:
    """Running worker processes."""

    processes: list[subprocess.Popen[bytes]]
    config: WorkerConfig
    ready: list[dict[str, Any]] = field(default_factory=list)

    def wait_ready(self, timeout: float = 120.0) -> list[dict[str, Any]]:
        """Block until every worker has warmed up; their reports (isolation plan, warm-up time)."""
        deadline = time.monotonic() + timeout
        for process in self.processes[len(self.ready) :]:
            self.ready.append(_read_ready(process, deadline))
        return list(self.ready)

    @property
    def plan(self) -> str | None:
        """The isolation plan the workers chose (after ``wait_ready``)."""
        return str(self.ready[0]["plan"]) if self.ready else None

    def alive(self) -> int:
        """How many workers are running."""
        return sum(process.poll() is None for process in self.processes)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask every worker to stop (running jobs go back to the queue), then kill stragglers."""
        for process in self.processes:
            if process.stdin is not None and not process.stdin.closed:
                process.stdin.close()
        deadline = time.monotonic() + timeout
        for process in self.processes:
            try:
                process.wait(max(deadline - time.monotonic(), 0.01))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


def _read_ready(process: subprocess.Popen[bytes], deadline: float) -> dict[str, Any]:
    assert process.stdout is not None
    fd = process.stdout.fileno()
    line = b""
    while not line.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
        if not ready:
            raise WorkerStartError(f"worker {process.pid} did not warm up in time")
        chunk = os.read(fd, 4096)
        if not chunk:
            raise WorkerStartError(
                f"worker {process.pid} exited with status {process.wait()} while warming up"
            )
        line += chunk
    report: dict[str, Any] = json.loads(line)
    if report.get("status") != READY:
        raise WorkerStartError(f"worker {process.pid} reported {report}")
    return report


def start_workers(
    settings: Settings,
    count: int,
    *,
    limits: SandboxLimits | None = None,
    queue: QueueConfig | None = None,
    **knobs: Any,
) -> WorkerPool:
    """Start ``count`` workers serving ``settings``' app database (they warm up in the background)."""
    config = WorkerConfig.of(
        settings, limits=limits or SandboxLimits(), queue=queue or QueueConfig(), **knobs
    )
    line = (config.model_dump_json() + "\n").encode()
    processes = []
    for _ in range(count):
        process = subprocess.Popen(
            [sys.executable, "-m", "quanta.sandbox"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=worker_environment(),
            close_fds=True,
        )
        assert process.stdin is not None
        process.stdin.write(line)
        process.stdin.flush()
        processes.append(process)
    return WorkerPool(processes=processes, config=config)


_pools: dict[str, WorkerPool] = {}
_pools_lock = threading.Lock()


def ensure_workers(settings: Settings, count: int) -> tuple[WorkerPool, bool]:
    """This process's running pool for ``settings``' app database, started when there is none.

    Returns the pool and whether this call started it (the caller that started it stops it).
    """
    with _pools_lock:
        pool = _pools.get(settings.app_database_url)
        if pool is not None and pool.alive():
            return pool, False
        pool = start_workers(settings, count)
        _pools[settings.app_database_url] = pool
        return pool, True


def forget(pool: WorkerPool) -> None:
    """Stop ``pool`` and drop it from this process's registry."""
    with _pools_lock:
        for url, known in list(_pools.items()):
            if known is pool:
                del _pools[url]
    pool.stop()


@contextlib.contextmanager
def running_workers(settings: Settings, count: int) -> Iterator[WorkerPool]:
    """Workers for the app's lifetime (the app's lifespan, ``quanta worker``): started, then stopped."""
    pool, started = ensure_workers(settings, count)
    try:
        yield pool
    finally:
        if started:
            forget(pool)
