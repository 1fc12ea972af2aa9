"""Start, stop and resume the Flink jobs (bars, scores) from any Python environment (tests, scripts, the CLI).

The job runs in ``.venv-flink`` as a child process in its own process group, so that stopping it stops
its JVM too. Nothing here imports pyflink.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.flink import bars, paths, scores

_STARTED_TIMEOUT = 180.0


class FlinkJobError(RuntimeError):
    """The job exited or did not start in time; the message ends with its log tail."""


@dataclass
class RunningJob:
    """A job process; ``log`` has its stdout and stderr, ``log_dir`` Flink's own log files."""

    process: subprocess.Popen[bytes]
    log: Path
    log_dir: Path
    config: bars.BarsJobConfig | scores.ScoresJobConfig
    started: dict[str, Any] | None = None

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self.process.poll() is None

    def wait_started(self, timeout: float = _STARTED_TIMEOUT) -> dict[str, Any]:
        """Wait for the job's ``started`` line (job id, start-up seconds); fail if the process exits."""
        deadline = time.monotonic() + timeout
        while self.started is None:
            for line in self.log.read_text(errors="replace").splitlines():
                if line.startswith('{"event": "started"'):
                    self.started = json.loads(line)
                    break
            else:
                if not self.running:
                    raise FlinkJobError(f"the Flink job exited with {self.process.returncode}\n{self.tail()}")
                if time.monotonic() > deadline:
                    raise FlinkJobError(f"the Flink job did not start within {timeout:.0f}s\n{self.tail()}")
                time.sleep(0.2)
        return self.started

    def kill(self) -> None:
        """Crash the job: SIGKILL to the Python client and its JVM, with no chance to clean up."""
        self._signal(signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the job: SIGTERM to its process group, SIGKILL if it lingers."""
        self._signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self, chars: int = 6000) -> str:
        """The end of the process output and of Flink's log, for error messages."""
        parts = [self.log.read_text(errors="replace")[-chars:]] if self.log.exists() else []
        parts += [path.read_text(errors="replace")[-chars:] for path in sorted(self.log_dir.glob("*.log"))]
        return "\n".join(parts)

    def _signal(self, number: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, number)


def start_bars_job(
    config: bars.BarsJobConfig, *, log_dir: Path, env: Mapping[str, str] | None = None
) -> RunningJob:
    """Start the bars job with ``.venv-flink``'s Python; logs go to ``log_dir``."""
    return _start("pipelines.flink.bars_job", bars.command_args(config), config, log_dir=log_dir, env=env)


def start_scores_job(
    config: scores.ScoresJobConfig, *, log_dir: Path, env: Mapping[str, str] | None = None
) -> RunningJob:
    """Start the scores job (its competitions file written, :func:`scores.write_competitions`)."""
    return _start("pipelines.flink.scores_job", scores.command_args(config), config, log_dir=log_dir, env=env)


def _start(
    module: str,
    args: list[str],
    config: bars.BarsJobConfig | scores.ScoresJobConfig,
    *,
    log_dir: Path,
    env: Mapping[str, str] | None,
) -> RunningJob:
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"job-{time.strftime('%H%M%S')}-{time.monotonic_ns() % 10**6}.out"
    environment = {
        **os.environ,
        "FLINK_LOG_DIR": str(log_dir),
        "QUANTA_FLINK_TMP": str(log_dir / "tmp"),
        "PYTHONPATH": str(paths.REPO),
        **(env or {}),
    }
    environment.pop("VIRTUAL_ENV", None)
    command = [str(paths.flink_python()), "-m", module, *args]
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 (our interpreter and module, no shell)
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=paths.REPO,
            env=environment,
            start_new_session=True,
        )
    return RunningJob(process=process, log=log, log_dir=log_dir, config=config)


@contextlib.contextmanager
def bars_job(config: bars.BarsJobConfig, *, log_dir: Path) -> Iterator[RunningJob]:
    """Run the job for the ``with`` block, started; stopped on exit whatever happened."""
    job = start_bars_job(config, log_dir=log_dir)
    try:
        job.wait_started()
        yield job
    finally:
        job.stop()


def latest_checkpoint(checkpoint_dir: Path) -> Path | None:
    """The newest complete checkpoint (a ``chk-N`` folder with ``_metadata``) under ``checkpoint_dir``."""
    done = [meta.parent for meta in checkpoint_dir.glob("*/chk-*/_metadata")]
    if not done:
        return None
    return max(done, key=lambda folder: (folder.stat().st_mtime_ns, int(folder.name.removeprefix("chk-"))))
