"""Real, throwaway PostgreSQL and Redis servers for tests.

Each server lives in its own temporary folder on a free loopback port and is always stopped and
removed on exit. ``postgres_server()`` runs ``initdb``/``pg_ctl`` as a non-root user when the tests
run as root (PostgreSQL refuses to run as root); ``redis_server()`` needs ``redis-server`` on PATH
(Debian package ``redis-server``).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redis

_START_TIMEOUT = 30.0
_PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
_FALLBACK_USERS = ("postgres", "nobody")


class ServiceError(RuntimeError):
    """A test server could not be started."""


@dataclass(frozen=True, kw_only=True)
class _RunAs:
    """Who runs the server process; ``None`` fields mean the current user."""

    user: str | None = None
    uid: int | None = None
    gid: int | None = None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _find_binary(name: str) -> str:
    """The path of a server binary from PATH or the Debian PostgreSQL folders (newest first)."""
    if found := shutil.which(name):
        return found
    for folder in sorted(glob.glob(_PG_BIN_GLOB), key=_version_key, reverse=True):
        candidate = Path(folder) / name
        if candidate.is_file():
            return str(candidate)
    msg = f"`{name}` is not on PATH or in {_PG_BIN_GLOB}; install PostgreSQL (apt-get install postgresql)"
    raise ServiceError(msg)


def _version_key(folder: str) -> int:
    version = Path(folder).parent.name
    return int(version) if version.isdigit() else 0


def _run_as() -> _RunAs:
    """PostgreSQL refuses root: pick an unprivileged system user when we are root."""
    if os.geteuid() != 0:
        return _RunAs()
    for name in _FALLBACK_USERS:
        with contextlib.suppress(KeyError):
            entry = pwd.getpwnam(name)
            return _RunAs(user=name, uid=entry.pw_uid, gid=entry.pw_gid)
    msg = "running as root but no unprivileged user (postgres, nobody) exists to run PostgreSQL"
    raise ServiceError(msg)


def _run(args: list[str], who: _RunAs, log: Path) -> None:
    """Run a command as ``who``; on failure raise with the command's output."""
    result = subprocess.run(  # noqa: S603 (fixed binaries, no shell)
        args,
        user=who.uid,
        group=who.gid,
        extra_groups=[] if who.uid is not None else None,
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
    )
    if result.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        msg = f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}{tail}"
        raise ServiceError(msg)


def _wait_for(check: Callable[[], None], what: str, timeout: float = _START_TIMEOUT) -> None:
    """Call ``check()`` until it returns, or fail after ``timeout`` seconds (at once on ServiceError)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            check()
        except ServiceError:
            raise
        except Exception as exc:
            if time.monotonic() > deadline:
                msg = f"{what} did not become ready within {timeout:.0f}s: {exc}"
                raise ServiceError(msg) from exc
            time.sleep(0.1)
        else:
            return


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Start a fresh PostgreSQL cluster and yield its URL (user ``postgres``, trust auth)."""
    who = _run_as()
    # Another user must reach the folder: use /tmp rather than a TMPDIR that may be private to root.
    root = Path(tempfile.mkdtemp(prefix="quanta-pg-", dir="/tmp" if who.uid is not None else None))  # noqa: S108
    try:
        if who.uid is not None:
            os.chown(root, who.uid, who.gid if who.gid is not None else -1)
        url = _start_postgres(root, who)
        try:
            yield url
        finally:
            _run(
                [_find_binary("pg_ctl"), "-D", str(root / "data"), "-m", "immediate", "-w", "stop"],
                who,
                root / "log",
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _start_postgres(root: Path, who: _RunAs) -> str:
    data, log = root / "data", root / "log"
    _run(
        [
            _find_binary("initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "-N",
        ],
        who,
        log,
    )
    port = free_port()
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    _run(
        [_find_binary("pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"],
        who,
        log,
    )
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    _wait_for(lambda: psycopg.connect(url, connect_timeout=2).close(), "PostgreSQL")
    return url


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """Start a fresh, non-persistent Redis and yield its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        msg = "`redis-server` is not on PATH; install it (apt-get install redis-server)"
        raise ServiceError(msg)
    root = Path(tempfile.mkdtemp(prefix="quanta-redis-"))
    port = free_port()
    args = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(root),
    ]
    with (root / "log").open("w") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=root)  # noqa: S603
    url = f"redis://127.0.0.1:{port}/0"
    try:
        _wait_for(lambda: _ping_redis(url, process), "Redis")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)


def _ping_redis(url: str, process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        msg = f"redis-server exited with code {process.returncode}"
        raise ServiceError(msg)
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    try:
        client.ping()
    finally:
        client.close()
