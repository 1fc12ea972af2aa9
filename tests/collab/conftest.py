"""Collaboration fixtures: a migrated app database with signed-in people, a role table standing in for
the workspace, room servers served by uvicorn on free loopback ports, and a polling ``eventually``.

Servers run in their own thread and event loop; the tests' pycrdt clients talk to them over real
websockets, as browsers would.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import uvicorn
from sqlmodel import Session

from quanta import db
from quanta.accounts.models import UserCreate
from quanta.accounts.service import SESSION_COOKIE, sign_in, sign_up
from quanta.collab import CollabHub, RoomOptions, UpdateStore, no_seed
from quanta.collab.asgi import collab_app
from quanta.collab.client import CollabClient
from quanta.collab.models import Authorizer, Seed
from quanta.collab.service import set_current_hub
from quanta.ratelimit import MemoryRateLimiter
from quanta.settings import Settings
from quanta.testing.services import free_port

PASSWORD = "Tr4ding-on-Mondays"
ROOM = "strat0001"
FAST = RoomOptions(linger=0.05, awareness_timeout=30.0)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite app database at head, copied by each test."""
    folder = tmp_path_factory.mktemp("collab-template")
    db.migrate(Settings(var_dir=folder))
    db.dispose_engines()
    return folder / "quanta.db"


@pytest.fixture
def settings(migrated_template: Path, tmp_path: Path) -> Iterator[Settings]:
    """Settings on a fresh copy of the migrated app database."""
    shutil.copyfile(migrated_template, tmp_path / "quanta.db")
    yield Settings(var_dir=tmp_path)
    set_current_hub(None)
    db.dispose_engines()


@dataclass
class People:
    """Signed-in people: their user ids and the ``Cookie`` header of their browser session."""

    ids: dict[str, int] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def people(settings: Settings) -> People:
    """Ada (owner), Bob (editor), Vic (viewer) and Eve (no access), each signed in."""
    found = People()
    limiter = MemoryRateLimiter()
    with Session(db.engine(settings)) as unit:
        for name in ("ada", "bob", "vic", "eve"):
            email = f"{name}@example.com"
            user = sign_up(session=unit, user_in=UserCreate(email=email, password=PASSWORD))
            assert user is not None
            assert user.id is not None
            grant = sign_in(session=unit, email=email, password=PASSWORD, limiter=limiter)
            found.ids[name] = user.id
            found.cookies[name] = f"{SESSION_COOKIE}={grant.token}"
        unit.commit()
    return found


class RoleTable:
    """An authorizer from a table of ``(room, user id) -> role`` (the workspace's job in the app)."""

    def __init__(self) -> None:
        self.roles: dict[tuple[str, int | None], str] = {}
        self.calls = 0

    def __call__(self, *, public_id: str, user_id: int | None) -> str | None:
        self.calls += 1
        return self.roles.get((public_id, user_id))


@pytest.fixture
def roles(people: People) -> RoleTable:
    """Ada owns ``ROOM``, Bob edits it, Vic views it; Eve has no role."""
    table = RoleTable()
    for name, role in (("ada", "owner"), ("bob", "editor"), ("vic", "viewer")):
        table.roles[(ROOM, people.ids[name])] = role
    return table


def make_hub(
    settings: Settings,
    authorizer: Authorizer,
    *,
    seed: Seed = no_seed,
    options: RoomOptions = FAST,
    relay_url: str | None = None,
) -> CollabHub:
    """A room server on the settings' database (relayed through Redis at ``relay_url``)."""
    from quanta.collab import RedisRelay

    return CollabHub(
        store=UpdateStore(db.engine(settings)),
        authorizer=authorizer,
        seed=seed,
        relay=RedisRelay(relay_url) if relay_url else None,
        options=options,
    )


@contextmanager
def serve(hub: CollabHub, settings: Settings) -> Iterator[str]:
    """``hub`` served by uvicorn until the block ends; yields the rooms' base URL (``ws://…/collab``).

    Leaving the block shuts the server down the way a deploy does: connections close, then the
    lifespan closes the hub (storing what is pending).
    """
    port = free_port()
    app = collab_app(hub, settings=settings)
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", ws="wsproto"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"collab-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        assert thread.is_alive(), "uvicorn stopped while starting"
        time.sleep(0.02)
    try:
        yield f"ws://127.0.0.1:{port}/collab"
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        assert not thread.is_alive(), "uvicorn did not stop"


async def eventually(check: Callable[[], bool], *, timeout: float = 5.0, what: str = "the condition") -> None:
    """Wait until ``check()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not hold within {timeout} s")
        await asyncio.sleep(0.01)


async def joined(url: str, cookie: str | None, *, name: str = "") -> CollabClient:
    """A client connected to ``url`` and synced with the room."""
    client = CollabClient(name=name)
    await client.connect(url, cookie=cookie)
    await asyncio.wait_for(client.synced.wait(), timeout=5)
    return client


def stored_rows(settings: Settings, room: str = ROOM) -> int:
    """How many update rows the room has in the database."""
    return UpdateStore(db.engine(settings)).count(room)
