"""Real, throwaway PostgreSQL, Redis and Kafka servers for tests.

Each server lives in its own temporary folder on a free loopback port and is always stopped and
removed on exit. ``postgres_server()`` runs ``initdb``/``pg_ctl`` as a non-root user when the tests
run as root (PostgreSQL refuses to run as root); ``redis_server()`` needs ``redis-server`` on PATH
(Debian package ``redis-server``); ``kafka_server()`` needs ``java`` and the broker jars that
``make kafka-jars`` (``scripts/kafka.sh fetch``) puts in ``.tools/kafka/libs``.
"""

from __future__ import annotations

import base64
import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import uuid
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


# --- Kafka -----------------------------------------------------------------------------------

_REPO = Path(__file__).resolve().parents[2]
KAFKA_LIBS = _REPO / ".tools" / "kafka" / "libs"
KAFKA_CONFIG = _REPO / "deploy" / "kafka"
_KAFKA_HEAP = ("-Xmx512m", "-Xms128m")
_KAFKA_STOP_TIMEOUT = 30.0


class KafkaBroker:
    """A single-node KRaft broker (broker and controller in one JVM) in its own folder.

    ``bootstrap`` stays the same across :meth:`stop` and :meth:`start`, and so does the data: a
    restarted broker keeps its topics, offsets and producer state, as after a real outage.
    """

    def __init__(self, root: Path, *, libs: Path = KAFKA_LIBS) -> None:
        self.root = root
        self.libs = libs
        self.port = free_port()
        self.controller_port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        """``host:port`` for clients (``QUANTA_KAFKA_BOOTSTRAP``)."""
        return f"127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the broker process is alive."""
        return self._process is not None and self._process.poll() is None

    def format(self) -> None:
        """Write ``server.properties`` and format a fresh log folder (``StorageTool --standalone``)."""
        template = (KAFKA_CONFIG / "server.properties").read_text()
        fields = {"BROKER_PORT": self.port, "CONTROLLER_PORT": self.controller_port, "LOG_DIR": self.data}
        for name, value in fields.items():
            template = template.replace(f"@{name}@", str(value))
        (self.root / "server.properties").write_text(template)
        cluster = _cluster_id()
        format_args = ["format", "--standalone", "-t", cluster, "-c", str(self.root / "server.properties")]
        _run(self._java("kafka.tools.StorageTool", *format_args), _RunAs(), self.logs / "server.log")

    def start(self) -> None:
        """Start the broker and wait until it answers a metadata request; fail with its log tail."""
        if self.running:
            return
        with (self.logs / "console.log").open("ab") as console:
            self._process = subprocess.Popen(  # noqa: S603 (fixed java command, no shell)
                self._java("kafka.Kafka", str(self.root / "server.properties")),
                stdout=console,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                start_new_session=True,
            )
        try:
            _wait_for(self._probe, "Kafka", timeout=60)
        except ServiceError as exc:
            self.stop(kill=True)
            raise ServiceError(f"{exc}\n--- Kafka log tail ---\n{self.log_tail()}") from exc

    def stop(self, *, kill: bool = False) -> None:
        """Stop the broker: a clean shutdown (SIGTERM), or a crash with ``kill=True`` (SIGKILL)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            process.wait(timeout=_KAFKA_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def log_tail(self, lines: int = 30) -> str:
        """The broker's first errors and last log lines, and its console output, for error messages."""
        log = self.logs / "server.log"
        text = log.read_text(errors="replace").splitlines() if log.exists() else []
        starts = [i for i, line in enumerate(text) if " ERROR " in line or " FATAL " in line][:5]
        errors = [line for i in starts for line in text[i : i + 3]]  # with the exception's first lines
        console = self.logs / "console.log"
        parts = [
            "first errors:",
            *errors,
            f"last {lines} lines:",
            *text[-lines:],
            console.read_text(errors="replace")[-2000:] if console.exists() else "",
        ]
        return "\n".join(parts)

    @property
    def data(self) -> Path:
        """The broker's log folder (topics, offsets, metadata)."""
        return self.root / "data"

    @property
    def logs(self) -> Path:
        """Where the broker writes ``server.log`` (log4j2) and ``console.log`` (stdout/stderr)."""
        return self.root / "logs"

    def _java(self, main: str, *args: str) -> list[str]:
        java = shutil.which("java")
        if java is None:
            msg = "`java` is not on PATH; install a JRE 17+ (apt-get install openjdk-17-jre-headless)"
            raise ServiceError(msg)
        if not any(self.libs.glob("kafka_*.jar")):
            msg = f"no Kafka jars in {self.libs}; run `make kafka-jars` (scripts/kafka.sh fetch)"
            raise ServiceError(msg)
        return [
            java,
            *_KAFKA_HEAP,
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={KAFKA_CONFIG / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.logs}",
            "-cp",
            f"{self.libs}/*",
            main,
            *args,
        ]

    def _probe(self) -> None:
        if self._process is None or self._process.poll() is not None:
            code = None if self._process is None else self._process.returncode
            raise ServiceError(f"the Kafka broker exited with code {code}")
        if not kafka_brokers("127.0.0.1", self.port):
            msg = "the broker is up but lists no brokers yet"
            raise ConnectionError(msg)


@contextlib.contextmanager
def kafka_server(*, libs: Path = KAFKA_LIBS) -> Iterator[KafkaBroker]:
    """Start a fresh single-node Kafka broker on free loopback ports; yield it (see :class:`KafkaBroker`).

    The broker's folder (config, data, logs) is removed on exit, whatever happened.
    """
    root = Path(tempfile.mkdtemp(prefix="quanta-kafka-"))
    broker = KafkaBroker(root, libs=libs)
    try:
        broker.logs.mkdir()
        broker.format()
        broker.start()
        yield broker
    finally:
        broker.stop()
        shutil.rmtree(root, ignore_errors=True)


def kafka_brokers(host: str, port: int, *, timeout: float = 2.0) -> list[tuple[int, str, int]]:
    """``(node_id, host, port)`` of every broker in a Metadata (v4) answer from ``host:port``.

    Written against the wire protocol so that the core never needs a Kafka client library.
    """
    client = b"quanta-probe"
    request = struct.pack(">hhih", 3, 4, 1, len(client)) + client + struct.pack(">ib", -1, 0)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(struct.pack(">i", len(request)) + request)
        (size,) = struct.unpack(">i", _receive(sock, 4))
        answer = _receive(sock, size)
    (count,) = struct.unpack_from(">i", answer, 8)  # after correlation id and throttle time
    position, brokers = 12, []
    for _ in range(count):
        node, host_length = struct.unpack_from(">ih", answer, position)
        position += 6
        broker_host = answer[position : position + host_length].decode()
        position += host_length
        broker_port, rack_length = struct.unpack_from(">ih", answer, position)
        position += 6 + max(rack_length, 0)
        brokers.append((node, broker_host, broker_port))
    return brokers


def _receive(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            msg = "the connection closed mid-answer"
            raise ConnectionError(msg)
        data += chunk
    return bytes(data)


def _cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding, not starting with ``-``
    (the storage tool would read it as an option, as Kafka's own ``random-uuid`` avoids)."""
    while True:
        cluster = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster.startswith("-"):
            return cluster
