"""Sandbox fixtures: a migrated app database, a market store with the bundled GOOG bars, two people,
warm worker pools with tight limits, a canary secret in the environment, a listening socket that
records connections, and helpers that submit a job and wait for its end.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from quanta import db
from quanta.accounts.models import User
from quanta.data import SOURCES, connect, load_bundled
from quanta.sandbox import Job, JobRequest, QueueConfig, SandboxLimits, WorkerPool, start_workers, submit_job
from quanta.settings import Settings
from tests.conftest import sqlalchemy_url

CANARY = "canary-secret-7f3a9c1e5b2d4a6f8e0c"
TIGHT = SandboxLimits(
    cpu_seconds=2, wall_seconds=10.0, memory_mb=256, open_files=32, file_size_mb=1, output_kb=16, result_mb=1
)
FAST = QueueConfig(lease_seconds=3.0, heartbeat_seconds=0.2, poll_seconds=0.02)
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
SMA_CROSS = (Path(__file__).parents[2] / "quanta" / "examples" / "sma_cross.py").read_text()


# ---- stores ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def market_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DuckDB market store with the bokeh sample stocks (GOOG, AAPL, …), closed for workers to read."""
    folder = tmp_path_factory.mktemp("sandbox-market")
    settings = Settings(var_dir=folder, duckdb_path=folder / "market.duckdb")
    con = connect(settings)
    load_bundled(con, sources=tuple(s for s in SOURCES if s.package == "bokeh-sampledata"))
    con.disconnect()
    return folder / "market.duckdb"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite app database migrated to head, copied by each test that needs a fresh one."""
    folder = tmp_path_factory.mktemp("sandbox-sqlite")
    db.migrate(Settings(var_dir=folder))
    db.dispose_engines()
    return folder / "quanta.db"


@pytest.fixture(scope="session")
def postgres_template(postgres_url: str) -> Iterator[str]:
    """A PostgreSQL database migrated to head, the template of each test's database."""
    name = f"quanta_sandbox_template_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    db.migrate(Settings(database_url=_database(postgres_url, name)))
    db.dispose_engines()
    yield name
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _database(server: str, name: str) -> str:
    return sqlalchemy_url(urlunsplit(urlsplit(server)._replace(path=f"/{name}")))


@pytest.fixture
def app_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh migrated app database: SQLite, or PostgreSQL when parametrised ``postgres``."""
    if getattr(request, "param", "sqlite") == "sqlite":
        target = tmp_path / "quanta.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        yield f"sqlite:///{target}"
        db.dispose_engines()
        return
    server = request.getfixturevalue("postgres_url")
    template = request.getfixturevalue("postgres_template")
    name = f"quanta_sandbox_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield _database(server, name)
    finally:
        db.dispose_engines()
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def engine(app_database: str) -> Engine:
    return db.engine_for(app_database)


def make_people(engine: Engine, count: int) -> list[int]:
    """``count`` accounts (ids), made directly: the queue only needs owners."""
    with Session(engine) as session:
        people = [
            User(email=f"p{i}-{uuid.uuid4().hex[:6]}@example.com", password_hash="-") for i in range(count)
        ]
        session.add_all(people)
        session.commit()
        return [p.id or 0 for p in people]


# ---- the shared pool -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sandbox:
    """A warm pool on its own app database, with an attacker and a bystander."""

    settings: Settings
    pool: WorkerPool
    attacker: int
    bystander: int
    secret_file: Path
    engine: Engine = field(repr=False)


@pytest.fixture(scope="session")
def canary_environment() -> Iterator[None]:
    """The canary as the app's secret key in this process's environment, as a deployment would have it."""
    previous = os.environ.get("QUANTA_SECRET_KEY")
    os.environ["QUANTA_SECRET_KEY"] = CANARY
    yield
    if previous is None:
        del os.environ["QUANTA_SECRET_KEY"]
    else:
        os.environ["QUANTA_SECRET_KEY"] = previous


def open_sandbox(
    folder: Path, market_file: Path, sqlite_template: Path, count: int, **knobs: object
) -> Sandbox:
    """Workers (not yet ready) on a fresh copy of the app database, with a secret file beside it."""
    shutil.copyfile(sqlite_template, folder / "quanta.db")
    (folder / "secret.txt").write_text(CANARY)
    settings = Settings(var_dir=folder, duckdb_path=market_file)
    engine = db.engine_for(settings.app_database_url)
    attacker, bystander = make_people(engine, 2)
    knobs = {"limits": TIGHT, "queue": FAST, "scratch_dir": str(folder / "scratch")} | knobs
    pool = start_workers(settings, count, **knobs)  # type: ignore[arg-type]
    return Sandbox(settings, pool, attacker, bystander, folder / "secret.txt", engine)


@pytest.fixture(scope="session")
def sandbox(
    tmp_path_factory: pytest.TempPathFactory,
    market_file: Path,
    sqlite_template: Path,
    canary_environment: None,
) -> Iterator[Sandbox]:
    """Two warm workers with the Python checks on."""
    opened = open_sandbox(tmp_path_factory.mktemp("sandbox"), market_file, sqlite_template, 2)
    opened.pool.wait_ready()
    yield opened
    opened.pool.stop()


# ---- running jobs ------------------------------------------------------------------------------------------


def submit(sandbox: Sandbox, owner: int, source: str, **request: object) -> str:
    """Queue a job; its public id."""
    fields = {"source": source, "symbols": ["GOOG"], "start": "2011-01-01", "end": "2011-12-31"} | request
    with Session(sandbox.engine) as session:
        job = submit_job(session=session, owner_id=owner, request=JobRequest.model_validate(fields))
        session.commit()
        return job.public_id


def wait(sandbox: Sandbox, public_id: str, *, timeout: float = 30.0) -> Job:
    """The job once it has ended."""
    deadline = time.monotonic() + timeout
    while True:
        job = read(sandbox, public_id)
        if job.status.finished:
            return job
        assert time.monotonic() < deadline, f"job {public_id} still {job.status} after {timeout}s"
        time.sleep(0.02)


def read(sandbox: Sandbox, public_id: str) -> Job:
    with Session(sandbox.engine, expire_on_commit=False) as session:
        job = session.exec(select(Job).where(col(Job.public_id) == public_id)).one()
        session.expunge(job)
        return job


def run(sandbox: Sandbox, owner: int, source: str, **request: object) -> Job:
    """Submit and wait."""
    return wait(sandbox, submit(sandbox, owner, source, **request))


# ---- a listener that counts connections ------------------------------------------------------------------


@dataclass
class Listener:
    """A TCP server on localhost that records every connection it accepts."""

    port: int
    accepted: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def listener() -> Iterator[Listener]:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    found = Listener(port=server.getsockname()[1])
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, address = server.accept()
            except TimeoutError:
                continue
            found.accepted.append(str(address))
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield found
    stop.set()
    thread.join()
    server.close()
