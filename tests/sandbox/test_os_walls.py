"""The operating-system walls alone: with the Python checks switched off (a test-only knob), strategy
code may import anything, and the namespaces, the root in the scratch folder, the unprivileged user
and the resource limits still keep files, secrets, the network, the worker and other processes out of
reach."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from string import Template

import pytest

from quanta.sandbox import ErrorKind, Job, WorkerStartError
from tests.sandbox.conftest import SMA_CROSS, TIGHT, Listener, Sandbox, open_sandbox, submit, wait
from tests.sandbox.test_hostile import attack, leaked

PLANS = ["root", "user-namespace"]


@pytest.fixture(scope="module", params=PLANS)
def unchecked(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    market_file: Path,
    sqlite_template: Path,
    canary_environment: None,
) -> Iterator[Sandbox]:
    """One warm worker without the Python checks, walled in by each plan this machine allows."""
    plan = request.param
    if plan == "root" and os.geteuid() != 0:
        pytest.skip("the root plan needs root")
    folder = tmp_path_factory.mktemp(f"unchecked-{plan}")
    limits = replace(TIGHT, wall_seconds=4.0)
    opened = open_sandbox(folder, market_file, sqlite_template, 1, checks=False, plan=plan, limits=limits)
    try:
        opened.pool.wait_ready()
    except WorkerStartError as exc:
        opened.pool.stop()
        pytest.skip(f"this machine does not allow the {plan} plan: {exc}")
    yield opened
    opened.pool.stop()


def program(template: str, sandbox: Sandbox, mark: Path, listener: Listener) -> str:
    return Template(template).substitute(
        DB=sandbox.settings.app_database_url.removeprefix("sqlite:///"),
        SECRET=str(sandbox.secret_file),
        MARK=str(mark),
        PORT=str(listener.port),
        WORKER=str(sandbox.pool.processes[0].pid),
    )


S, T = ErrorKind.STRATEGY, ErrorKind.TIME_LIMIT
WALLS: dict[str, tuple[str, ErrorKind | None, str]] = {
    "read /etc/passwd": (attack("print(open('/etc/passwd').read())"), S, "FileNotFoundError"),
    "read the app database": (attack("print(open('$DB', 'rb').read())"), S, "FileNotFoundError"),
    "read the secret file": (attack("print(open('$SECRET').read())"), S, "FileNotFoundError"),
    "read the worker's environment": (
        attack("print(open('/proc/1/environ').read())"),
        S,
        "FileNotFoundError",
    ),
    "write outside the scratch folder": (attack("open('$MARK', 'w').write('pwned')"), S, "FileNotFoundError"),
    "connect to a local port": (
        attack("import socket\nsocket.socket().connect(('127.0.0.1', $PORT))"),
        S,
        "Network is unreachable",
    ),
    "fork": (attack("import os\nos.fork()"), S, "BlockingIOError"),
    "fork bomb": (attack("import os\nwhile True:\n    os.fork()"), S, "BlockingIOError"),
    "run a program": (
        attack("import subprocess\nsubprocess.run(['touch', '$MARK'])"),
        S,
        "Error",
    ),
    "kill the worker": (
        attack("import os, signal\nos.kill($WORKER, signal.SIGKILL)"),
        S,
        "ProcessLookupError",
    ),
    "kill every process it may": (
        attack(
            """
            import os, signal
            try:
                os.kill(-1, signal.SIGKILL)  # every process it may signal: none
            except ProcessLookupError:
                pass
            os.killpg(0, signal.SIGKILL)  # its own group: itself, the namespace's first process
            """
        ),
        None,
        "",
    ),
    "leave the user namespace's root": (
        attack("import ctypes\nassert ctypes.CDLL(None).unshare(0x10000000) == 0, 'unshare refused'"),
        S,
        "unshare refused",
    ),
    "raise the CPU limit, then loop": (
        attack(
            """
            import resource
            try:
                resource.setrlimit(resource.RLIMIT_CPU, (10_000, 10_000))
            except (ValueError, OSError):
                pass
            while True:
                pass
            """
        ),
        T,
        "time limit",
    ),
    "sleep forever": (attack("import time\ntime.sleep(3600)"), T, "time limit 4 s exceeded (wall clock)"),
}


@pytest.mark.parametrize(("template", "kind", "message"), list(WALLS.values()), ids=list(WALLS))
def test_the_operating_system_walls_hold_without_the_python_checks(
    *,
    unchecked: Sandbox,
    listener: Listener,
    tmp_path: Path,
    template: str,
    kind: ErrorKind | None,
    message: str,
) -> None:
    mark = tmp_path / "pwned"

    job: Job = wait(
        unchecked, submit(unchecked, unchecked.attacker, program(template, unchecked, mark, listener))
    )

    if kind is None:  # nothing to kill: alone in its PID namespace, whose first process ignores itself
        assert job.error is None, job.error
    else:
        assert job.error is not None, job.result
        assert (job.error.kind, message in job.error.message) == (kind, True), job.error
    assert leaked(job) == []
    assert not mark.exists()
    assert listener.accepted == []
    assert unchecked.pool.alive() == 1
    served = wait(unchecked, submit(unchecked, unchecked.bystander, SMA_CROSS))
    assert served.error is None, served.error


def test_the_strategy_sees_an_empty_environment_and_an_empty_root(unchecked: Sandbox) -> None:
    source = attack("import os\nprint(dict(os.environ), os.listdir('/'), os.getpid())")

    job = wait(unchecked, submit(unchecked, unchecked.attacker, source))

    assert job.error is None, job.error
    assert job.output == "{} [] 1\n"  # no variable, no file, PID 1 of its own namespace
    assert os.environ["QUANTA_SECRET_KEY"] not in (job.output or "")
