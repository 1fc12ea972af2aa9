"""Broadcast fixtures: frames read back from an outbox, and hubs served by uvicorn in the test's loop.

The websocket tests run uvicorn as a task of the test's own event loop, so a test publishes on the
very hub that serves the clients, and the clients talk to it over real loopback sockets.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import uvicorn

from quanta.broadcast import Hub, Outbox
from quanta.broadcast.asgi import Authorize, Limits, broadcast_app
from quanta.settings import Settings
from quanta.testing.services import free_port


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def frames(outbox: Outbox) -> list[dict[str, Any]]:
    """The frames waiting in ``outbox``, parsed; the outbox is emptied."""
    return [json.loads(frame) for frame in outbox.take_nowait()]


def kinds(parsed: list[dict[str, Any]]) -> list[tuple[str, int | None]]:
    """``(kind, seq)`` of each frame."""
    return [(frame["kind"], frame.get("seq")) for frame in parsed]


@asynccontextmanager
async def served(
    hub: Hub, *, authorize: Authorize | None = None, limits: Limits | None = None
) -> AsyncIterator[str]:
    """``hub`` on a free loopback port until the block ends; yields the websocket URL."""
    port = free_port()
    app = broadcast_app(hub, authorize=authorize, limits=limits, settings=Settings())
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="wsproto")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 20
    while not server.started:
        assert not task.done(), "uvicorn stopped while starting"
        assert time.monotonic() < deadline, "uvicorn did not start"
        await asyncio.sleep(0.01)
    try:
        yield f"ws://127.0.0.1:{port}/live/ws"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 20)


async def eventually(check: Callable[[], bool], *, timeout: float = 5.0, what: str = "the condition") -> None:
    """Wait until ``check()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not hold within {timeout} s")
        await asyncio.sleep(0.01)
