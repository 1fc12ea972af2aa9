"""The worker's side of one job: fork the keeper, watch its pipes and the clock, read how it ended.

The sandboxed processes talk back through two pipes only: printed output (kept up to a cap, the rest
counted and dropped) and JSON lines (progress, then a result or an error, then the keeper's report of
how the runner exited). Lines are parsed with ``json.loads``, never unpickled. The worker kills the
keeper (and so the runner) when the wall-clock limit passes, the result grows past its cap, the job is
cancelled or the worker is stopping.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from quanta.sandbox._child import Launch, keeper
from quanta.sandbox.models import ErrorKind, JobError, SandboxLimits

_CHUNK = 65536
_TICK = 0.05
Verdict = Literal["go", "cancel", "stop", "lost"]
"""What the worker says at each tick: go on; the owner cancelled; the worker is stopping; the job is gone."""


@dataclass(kw_only=True)
class Outcome:
    """How a job's sandboxed run ended."""

    result: dict[str, Any] | None = None
    error: JobError | None = None
    output: str = ""
    stopped: Verdict = "go"
    """``stop``/``lost``: the worker gave up the job (no error to store)."""


@dataclass(kw_only=True)
class _Progress:
    fraction: float = 0.0
    message: str = "starting"


@dataclass(kw_only=True)
class _Channels:
    limits: SandboxLimits
    lines: bytearray = field(default_factory=bytearray)
    output: bytearray = field(default_factory=bytearray)
    dropped: int = 0
    overflow: bool = False

    def take_output(self, chunk: bytes) -> None:
        room = self.limits.output_kb * 1024 - len(self.output)
        self.output += chunk[: max(room, 0)]
        self.dropped += max(len(chunk) - max(room, 0), 0)

    def take_lines(self, chunk: bytes) -> None:
        self.lines += chunk
        self.overflow = len(self.lines) > self.limits.result_mb * 1024 * 1024

    def text(self) -> str:
        shown = self.output.decode("utf-8", errors="replace")
        return shown + (f"\n… {self.dropped} more bytes of output dropped" if self.dropped else "")


Tick = Callable[[float, str], Verdict]
"""Called every tick with the latest progress; answers what to do."""


def supervise(launch: Launch, tick: Tick) -> Outcome:
    """Run ``launch`` in forked sandboxed processes and report how it ended."""
    result_r, result_w = os.pipe()
    output_r, output_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the keeper, in the forked process
        os.close(result_r)
        os.close(output_r)
        keeper(launch, result_w, output_w)
    os.close(result_w)
    os.close(output_w)
    channels = _Channels(limits=launch.limits)
    try:
        verdict = _watch(
            pid, {result_r: channels.take_lines, output_r: channels.take_output}, launch, tick, channels
        )
    finally:
        os.close(result_r)
        os.close(output_r)
    return _outcome(verdict, channels, launch.limits)


def _watch(
    pid: int, readers: dict[int, Callable[[bytes], None]], launch: Launch, tick: Tick, channels: _Channels
) -> Verdict | ErrorKind:
    deadline = time.monotonic() + launch.limits.wall_seconds
    progress = _Progress()
    open_fds = set(readers)
    verdict: Verdict | ErrorKind = "go"
    while open_fds:
        ready, _, _ = select.select(list(open_fds), [], [], _TICK)
        for fd in ready:
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                open_fds.discard(fd)
            else:
                readers[fd](chunk)
        _latest_progress(channels.lines, progress)
        if verdict == "go":
            verdict = _verdict(channels, deadline, tick(progress.fraction, progress.message))
            if verdict != "go":
                _kill(pid, channels.lines)
    _reap(pid)
    return verdict


def _verdict(channels: _Channels, deadline: float, said: Verdict) -> Verdict | ErrorKind:
    if channels.overflow:
        return ErrorKind.RESULT_LIMIT
    if time.monotonic() > deadline:
        return ErrorKind.TIME_LIMIT
    return said


def _kill(pid: int, lines: bytearray) -> None:
    runner = _runner_pid(lines)
    for target in (pid, runner):
        if target is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(target, signal.SIGKILL)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _messages(lines: bytearray) -> list[dict[str, Any]]:
    found = []
    for raw in bytes(lines).split(b"\n"):
        try:
            message = json.loads(raw) if raw.strip() else None
        except ValueError:
            continue
        if isinstance(message, dict) and isinstance(message.get("t"), str):
            found.append(message)
    return found


def _runner_pid(lines: bytearray) -> int | None:
    for message in _messages(lines):
        if message["t"] == "runner" and isinstance(message.get("pid"), int):
            return int(message["pid"])
    return None


def _latest_progress(lines: bytearray, progress: _Progress) -> None:
    start = lines.rfind(b'{"t":"progress"')
    if start < 0:
        return
    end = lines.find(b"\n", start)
    if end < 0:
        return
    try:
        message = json.loads(bytes(lines[start:end]))
        progress.fraction, progress.message = float(message["p"]), str(message["m"])[:200]
    except (ValueError, KeyError, TypeError):
        return


# ---- reading the end -----------------------------------------------------------------------------------


def _outcome(verdict: Verdict | ErrorKind, channels: _Channels, limits: SandboxLimits) -> Outcome:
    output = channels.text()
    if verdict in ("stop", "lost"):
        return Outcome(output=output, stopped=verdict)  # type: ignore[arg-type]
    if verdict == "cancel":
        return Outcome(
            output=output, error=JobError(kind=ErrorKind.CANCELLED, message="cancelled by its owner")
        )
    if verdict is ErrorKind.RESULT_LIMIT:
        message = f"result limit exceeded: the result is larger than {limits.result_mb} MB"
        return Outcome(output=output, error=JobError(kind=ErrorKind.RESULT_LIMIT, message=message))
    if verdict is ErrorKind.TIME_LIMIT:
        message = f"time limit {limits.wall_seconds:g} s exceeded (wall clock)"
        return Outcome(output=output, error=JobError(kind=ErrorKind.TIME_LIMIT, message=message))
    return _reported(_messages(channels.lines), output, limits)


def _reported(messages: list[dict[str, Any]], output: str, limits: SandboxLimits) -> Outcome:
    exit_ = next((m for m in messages if m["t"] == "exit"), None)
    final = next((m for m in reversed(messages) if m["t"] in ("result", "error")), None)
    if final is not None and final["t"] == "result" and isinstance(final.get("result"), dict):
        return Outcome(result=final["result"], output=output)
    if final is not None and final["t"] == "error":
        return Outcome(output=output, error=_error(final))
    return Outcome(output=output, error=_silent_end(exit_, limits))


def _error(message: dict[str, Any]) -> JobError:
    try:
        kind = ErrorKind(str(message.get("kind")))
    except ValueError:
        kind = ErrorKind.INTERNAL
    line = message.get("line")
    return JobError(
        kind=kind,
        message=str(message.get("message", ""))[:2000],
        line=line if isinstance(line, int) else None,
    )


def _silent_end(exit_: dict[str, Any] | None, limits: SandboxLimits) -> JobError:
    """The runner ended without a result or an error: find out why from its exit status and usage."""
    if exit_ is None:
        return JobError(kind=ErrorKind.CRASHED, message="the sandboxed process ended without a report")
    status, cpu = int(exit_.get("status", 0)), float(exit_.get("cpu", 0.0))
    if status < 0 and (-status == signal.SIGXCPU or cpu >= limits.cpu_seconds - 0.05):
        return JobError(
            kind=ErrorKind.TIME_LIMIT, message=f"time limit {limits.cpu_seconds} s exceeded (CPU)"
        )
    rss_mb = float(exit_.get("rss_kb", 0)) / 1024
    if rss_mb >= limits.memory_mb * 0.9:
        return JobError(kind=ErrorKind.MEMORY_LIMIT, message=f"memory limit {limits.memory_mb} MB exceeded")
    what = f"signal {_signal_name(-status)}" if status < 0 else f"exit status {status}"
    return JobError(kind=ErrorKind.CRASHED, message=f"the strategy's process crashed ({what})")


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)
