"""What runs in a job's forked processes: the keeper, the runner, and the strategy itself.

The worker forks the keeper with the job's market data already in memory. The keeper closes every
inherited file descriptor but the two pipes, clears the environment, leaves the worker's namespaces
and forks the runner, then waits for it and reports how it ended (exit status, CPU time, peak memory).
The runner puts up the last walls (``quanta.sandbox._isolation.confine``), imports the strategy with
restricted builtins, runs it, and writes the result as one JSON line. Nothing here returns: both
processes leave with ``os._exit``.
"""

from __future__ import annotations

import contextlib
import json
import linecache
import os
import signal
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from quanta.engine import Backtest, BacktestError, StrategyError
from quanta.loading import MarketData
from quanta.optimize import BacktestObjective, optimize, walk_forward
from quanta.sandbox import _isolation
from quanta.sandbox._restrict import ForbiddenError, forget_violations, strategy_builtins, violations
from quanta.sandbox._results import backtest_json, optimize_json, walk_forward_json
from quanta.sandbox.models import ErrorKind, JobKind, JobRequest, SandboxLimits
from quanta.strategy import Strategy

FILENAME = "strategy.py"
MODULE = "quanta_user_strategy"
_RESERVE = 1 << 20


@dataclass(frozen=True, slots=True, kw_only=True)
class Launch:
    """Everything a job's processes need, prepared by the worker before forking."""

    request: JobRequest
    market: MarketData
    plan: _isolation.Plan
    limits: SandboxLimits
    scratch: Path
    checks: bool = True


class SandboxError(Exception):
    """A job ends in error: its kind, message and line of the user's file."""

    def __init__(self, kind: ErrorKind, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.kind, self.message, self.line = kind, message, line


def send(fd: int, message: dict[str, Any]) -> None:
    """Write one JSON line to the result pipe."""
    data = (json.dumps(message, allow_nan=False, separators=(",", ":")) + "\n").encode()
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


# ---- the keeper ----------------------------------------------------------------------------------------


def keeper(launch: Launch, result_fd: int, output_fd: int) -> NoReturn:
    """The first forked process: isolate, fork the runner, report how it ended."""
    try:
        _isolation.die_with_parent()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        _standard_streams(output_fd)
        _close_fds_except({0, 1, 2, result_fd})
        os.environ.clear()
        uid = _isolation.enter_namespaces(launch.plan, launch.scratch)
        pid = os.fork()
        if pid == 0:
            runner(launch, result_fd, uid)
        send(result_fd, {"t": "runner", "pid": pid})
        _, status, usage = os.wait4(pid, 0)
        exit_ = {"t": "exit", "status": os.waitstatus_to_exitcode(status)}
        send(result_fd, exit_ | {"cpu": usage.ru_utime + usage.ru_stime, "rss_kb": usage.ru_maxrss})
        os._exit(0)
    except BaseException as exc:
        _report(result_fd, SandboxError(ErrorKind.INTERNAL, f"sandbox setup failed: {exc}"))
        os._exit(1)


def _standard_streams(output_fd: int) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(output_fd, 1)
    os.dup2(output_fd, 2)
    for fd in {null, output_fd} - {0, 1, 2}:
        os.close(fd)
    sys.stdout = open(1, "w", buffering=1, closefd=False, errors="replace")  # noqa: SIM115
    sys.stderr = open(2, "w", buffering=1, closefd=False, errors="replace")  # noqa: SIM115


def _close_fds_except(keep: set[int]) -> None:
    start = 0
    for stop in [*sorted(keep), os.sysconf("SC_OPEN_MAX")]:
        if stop > start:  # os.closerange(n, n) closes every descriptor from n on (CPython 3.11)
            os.closerange(start, stop)
        start = stop + 1


# ---- the runner ----------------------------------------------------------------------------------------


def runner(launch: Launch, result_fd: int, uid: int) -> NoReturn:
    """The second forked process: confine, run the strategy, write the result."""
    try:
        _isolation.die_with_parent()
        linecache.cache[FILENAME] = (
            len(launch.request.source),
            None,
            launch.request.source.splitlines(keepends=True),
            FILENAME,
        )
        _isolation.confine(launch.plan, uid, launch.limits, _isolation.address_space())
    except BaseException as exc:
        _report(result_fd, SandboxError(ErrorKind.INTERNAL, f"sandbox setup failed: {exc}"))
        os._exit(1)
    reserve = bytearray(_RESERVE)
    try:
        outcome = run(launch, lambda p, m: send(result_fd, {"t": "progress", "p": p, "m": m}))
        outcome["isolation"] = launch.plan.layers()
        send(result_fd, {"t": "result", "result": outcome})
    except BaseException as exc:
        del reserve
        _report(result_fd, classify(exc, launch.limits))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _report(fd: int, failure: SandboxError) -> None:
    message = {
        "t": "error",
        "kind": failure.kind.value,
        "message": failure.message[:2000],
        "line": failure.line,
    }
    with contextlib.suppress(BaseException):  # the worker reports a silent end on its own
        send(fd, message)


def run(launch: Launch, progress: Callable[[float, str], None]) -> dict[str, Any]:
    """Import the strategy, run the backtest or the search, and return its JSON."""
    request = launch.request
    forget_violations()
    progress(0.1, "importing the strategy")
    strategy = pick_class(load_module(request.source, checks=launch.checks), request.class_name)
    try:
        params = strategy.resolve_params(request.params)
        options = dict(request.config)
        Backtest(launch.market.data, strategy, **options)
    except BacktestError as exc:
        raise SandboxError(ErrorKind.INVALID, str(exc)) from exc
    progress(0.2, "running")
    if request.kind is JobKind.BACKTEST:
        outcome = backtest_json(Backtest(launch.market.data, strategy, **options).run(**params))
    else:
        objective = BacktestObjective(
            strategy=strategy, data=launch.market.data, options=options, maximize=request.maximize
        )
        outcome = _search(request, objective, _search_progress(progress))
    refused = violations()
    if refused:
        raise SandboxError(ErrorKind.FORBIDDEN, refused[0])
    progress(0.95, "sending the result")
    return outcome | {"strategy": strategy.__name__}


def _search(
    request: JobRequest, objective: BacktestObjective, report: Callable[[int, int], None]
) -> dict[str, Any]:
    """The optimise job's search, by its method, as JSON."""
    space = request.space or {}
    if request.method == "walk-forward":
        found = walk_forward(objective, space, folds=request.folds, workers=1, progress=report)
        return walk_forward_json(found)
    return optimize_json(
        optimize(objective, space, method=request.method, trials=request.trials, workers=1, progress=report)
    )


def _search_progress(progress: Callable[[float, str], None]) -> Callable[[int, int], None]:
    def report(done: int, total: int) -> None:
        progress(0.2 + 0.75 * done / max(total, 1), f"{done} of {total} parameter sets")

    return report


def load_module(source: str, *, checks: bool = True) -> types.ModuleType:
    """The strategy's module, executed with the sandbox's builtins (``checks=False``: the real ones)."""
    module = types.ModuleType(MODULE)
    module.__file__ = FILENAME
    if checks:
        module.__dict__["__builtins__"] = strategy_builtins()
    sys.modules[MODULE] = module
    exec(compile(source, FILENAME, "exec"), module.__dict__)  # noqa: S102 - the point of the sandbox
    return module


def pick_class(module: types.ModuleType, class_name: str | None) -> type[Strategy]:
    """The strategy class named ``class_name``, or the one strategy the module defines."""
    defined = {
        name: value
        for name, value in vars(module).items()
        if isinstance(value, type) and issubclass(value, Strategy) and value.__module__ == MODULE
    }
    if class_name is not None:
        if class_name not in defined:
            names = ", ".join(sorted(defined)) or "none"
            raise SandboxError(ErrorKind.INVALID, f"no strategy class {class_name!r}; strategies: {names}")
        return defined[class_name]
    leaves = [
        c for c in defined.values() if not any(o is not c and issubclass(o, c) for o in defined.values())
    ]
    if len(leaves) != 1:
        found = ", ".join(sorted(c.__name__ for c in leaves)) or "none"
        raise SandboxError(ErrorKind.INVALID, f"expected one Strategy subclass, found: {found}; name one")
    return leaves[0]


# ---- what went wrong -----------------------------------------------------------------------------------


def classify(exc: BaseException, limits: SandboxLimits) -> SandboxError:
    """The job's error for an exception out of the strategy (or the engine running it)."""
    if violations():
        return SandboxError(ErrorKind.FORBIDDEN, violations()[0], _user_line(exc))
    if isinstance(exc, SandboxError):
        return exc
    cause = exc.__cause__ if isinstance(exc, StrategyError) and exc.__cause__ is not None else exc
    line = exc.lineno if isinstance(exc, StrategyError) and exc.filename == FILENAME else _user_line(cause)
    if isinstance(exc, BacktestError) and not isinstance(exc, StrategyError):
        return SandboxError(ErrorKind.INVALID, str(exc), line)
    kind, message = _limit_error(cause, limits)
    return SandboxError(kind, message, line)


def _limit_error(cause: BaseException, limits: SandboxLimits) -> tuple[ErrorKind, str]:
    if isinstance(cause, MemoryError):
        return ErrorKind.MEMORY_LIMIT, f"memory limit {limits.memory_mb} MB exceeded"
    if isinstance(cause, RecursionError):
        return ErrorKind.RECURSION_LIMIT, f"recursion limit exceeded: {cause}"
    if isinstance(cause, ForbiddenError):
        return ErrorKind.FORBIDDEN, str(cause)
    return ErrorKind.STRATEGY, f"{type(cause).__name__}: {_text(cause)}"


def _text(exc: BaseException) -> str:
    try:
        return str(exc)[:1000]
    except Exception:
        return "(its message cannot be shown)"


def _user_line(exc: BaseException) -> int | None:
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
