"""The chat's live push over real HTTP and websockets (the app's API under uvicorn): what the REST routes
commit reaches everyone following the room on ``/live/ws``; only readers may follow; presence and typing
are pushed; and a client that reconnects — resumed from the hub's ring, sent back for a snapshot, or
seeing a change it cannot place — ends with exactly the state of a fresh load, without duplicates or gaps.

``ChatFollower`` is the browser component's algorithm (components/chat.jsx) in Python.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from quanta.accounts.models import User
from quanta.broadcast.client import BroadcastClient
from quanta.chat.live import presence_topic, room_topic
from quanta.chat.service import post_message
from quanta.ratelimit import MemoryRateLimiter
from quanta.testing.services import free_port
from tests.chat.conftest import Cast, ChatApp, Rooms
from tests.chat.follow import RoomCopy

pytestmark = pytest.mark.anyio
CHAT = "/api/v1/chat"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@contextlib.asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """``app`` under uvicorn on a free loopback port, in this event loop; yields ``http://host:port``."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", ws="wsproto", lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 20
    while not server.started:
        assert not task.done(), "uvicorn stopped while starting"
        assert time.monotonic() < deadline, "uvicorn did not start"
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 20)


@dataclass
class Person:
    """Someone's browser: REST with their session cookie, and websockets to the hub."""

    base: str
    cookie: str
    http: httpx.AsyncClient

    @property
    def headers(self) -> list[tuple[str, str]]:
        return [("Cookie", self.cookie), ("Origin", self.base)]

    async def socket(self) -> BroadcastClient:
        return await BroadcastClient.connect(
            self.base.replace("http://", "ws://") + "/live/ws", headers=self.headers
        )

    async def say(self, app: ChatApp, room: str, body: str) -> dict[str, Any]:
        app.clock.advance(seconds=3)
        response = await self.http.post(f"{CHAT}/rooms/{room}/messages", json={"body": body})
        assert response.status_code == 201, response.text
        message: dict[str, Any] = response.json()
        return message


@contextlib.asynccontextmanager
async def browser(app: ChatApp, base: str, user: User | None) -> AsyncIterator[Person]:
    cookie = f"quanta_session={app.session_token(user)}" if user is not None else ""
    headers = {"Origin": base, "Cookie": cookie}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=20) as http:
        yield Person(base=base, cookie=cookie, http=http)


async def next_frame(client: BroadcastClient, topic: str, kind: str) -> dict[str, Any]:
    """The next frame of ``kind`` on ``topic`` (others are skipped)."""
    async with asyncio.timeout(10):
        while True:
            frame = await client.receive()
            if frame.get("topic") == topic and frame.get("kind") == kind:
                return frame


@dataclass
class ChatFollower:
    """A room followed the way components/chat.jsx follows it: hub frames applied only in order
    (``seq`` = last + 1, anything else resubscribes), messages merged by ``RoomCopy``, and a snapshot
    (the hub could not resume us) or a change that skips numbers caught up from
    ``GET …/changes?after=last_change`` (in pages of two, to exercise the paging)."""

    person: Person
    room: str
    copy: RoomCopy = field(default_factory=RoomCopy)
    hub_seq: int | None = None
    epoch: str | None = None
    client: BroadcastClient | None = None

    @property
    def topic(self) -> str:
        return room_topic(self.room)

    @property
    def messages(self) -> dict[int, Any]:
        return dict(self.copy.messages)

    async def connect(self) -> None:
        self.client = await self.person.socket()
        await self.client.subscribe(self.topic, after=self.hub_seq, epoch=self.epoch)

    async def disconnect(self) -> None:
        if self.client is not None:
            self.client.abort()
            self.client = None

    async def settle(self, *, quiet: float = 0.3) -> None:
        """Apply frames until none arrives for ``quiet`` seconds."""
        assert self.client is not None
        while True:
            try:
                async with asyncio.timeout(quiet):
                    frame = await self.client.receive()
            except TimeoutError:
                return
            await self.handle(frame)

    async def handle(self, frame: dict[str, Any]) -> None:
        if frame.get("topic") != self.topic:
            return
        kind = frame["kind"]
        if kind == "snapshot":
            self.hub_seq, self.epoch = frame["seq"], frame["epoch"]
            await self.catch_up()
        elif kind == "delta":
            if self.hub_seq is not None and frame["seq"] <= self.hub_seq:
                return
            if self.hub_seq is not None and frame["seq"] != self.hub_seq + 1:
                await self.resubscribe()
                return
            self.hub_seq = frame["seq"]
            self.copy.apply(frame["data"]["message"])
            if self.copy.behind:
                await self.catch_up()
        elif kind == "resync":
            await self.resubscribe()

    async def resubscribe(self) -> None:
        assert self.client is not None
        await self.client.subscribe(self.topic, after=self.hub_seq, epoch=self.epoch)

    async def catch_up(self, limit: int = 2) -> None:
        self.copy.catch_ups += 1
        while True:
            response = await self.person.http.get(
                f"{CHAT}/rooms/{self.room}/changes", params={"after": self.copy.last_change, "limit": limit}
            )
            page = response.json()
            if self.copy.take_page(page["items"], page["last_change"], limit):
                return


async def fresh_load(person: Person, room: str) -> dict[int, dict[str, Any]]:
    response = await person.http.get(f"{CHAT}/rooms/{room}/changes", params={"after": 0, "limit": 200})
    return {m["seq"]: m for m in response.json()["items"]}


async def test_a_post_reaches_everyone_following_the_room(
    chat_app: ChatApp, cast: Cast, rooms: Rooms
) -> None:
    room = rooms.strategy.public_id
    async with (
        served(chat_app.api) as base,
        browser(chat_app, base, cast.owner) as olga,
        browser(chat_app, base, cast.editor) as eddie,
    ):
        socket = await eddie.socket()
        await socket.subscribe(room_topic(room))
        snapshot = await next_frame(socket, room_topic(room), "snapshot")
        assert snapshot["data"] is None
        posted = await olga.say(chat_app, room, "**hello** @eddie")
        delta = await next_frame(socket, room_topic(room), "delta")
        assert delta["data"]["kind"] == "message.posted"
        assert delta["data"]["message"] == posted
        assert (
            delta["data"]["message"]["html"]
            == '<p><strong>hello</strong> <span class="mention">@eddie</span></p>'
        )
        chat_app.clock.advance(seconds=3)
        await olga.http.patch(f"{CHAT}/rooms/{room}/messages/1", json={"body": "hello"})
        await olga.http.delete(f"{CHAT}/rooms/{room}/messages/1")
        kinds = [(await next_frame(socket, room_topic(room), "delta"))["data"]["kind"] for _ in range(2)]
        assert kinds == ["message.edited", "message.deleted"]
        await socket.close()


async def test_only_readers_may_follow_a_room(chat_app: ChatApp, cast: Cast, rooms: Rooms) -> None:
    topic = room_topic(rooms.strategy.public_id)
    async with (
        served(chat_app.api) as base,
        browser(chat_app, base, cast.stranger) as sam,
        browser(chat_app, base, None) as nobody,
    ):
        for person, wanted in ((sam, topic), (nobody, room_topic(rooms.lobby.public_id))):
            socket = await person.socket()
            await socket.subscribe(wanted)
            error = await next_frame(socket, wanted, "error")
            assert error["data"]["code"] == "forbidden"
            await socket.close()
        socket = await sam.socket()
        await socket.subscribe(room_topic(rooms.lobby.public_id))
        await next_frame(socket, room_topic(rooms.lobby.public_id), "snapshot")
        await socket.close()


async def test_a_banned_reader_is_sent_back_and_refused(chat_app: ChatApp, cast: Cast, rooms: Rooms) -> None:
    room = rooms.strategy.public_id
    async with (
        served(chat_app.api) as base,
        browser(chat_app, base, cast.owner) as olga,
        browser(chat_app, base, cast.viewer) as vic,
    ):
        socket = await vic.socket()
        await socket.subscribe(room_topic(room))
        await next_frame(socket, room_topic(room), "snapshot")
        await olga.http.post(f"{CHAT}/rooms/{room}/restrictions", json={"username": "vic", "kind": "ban"})
        resync = await next_frame(socket, room_topic(room), "resync")
        await socket.subscribe(room_topic(room), after=resync["seq"])
        assert (await next_frame(socket, room_topic(room), "error"))["data"]["code"] == "forbidden"
        await socket.close()


async def test_presence_and_typing_are_pushed_and_expire(chat_app: ChatApp, cast: Cast, rooms: Rooms) -> None:
    room = rooms.strategy.public_id
    topic = presence_topic(room)
    async with (
        served(chat_app.api) as base,
        browser(chat_app, base, cast.owner) as olga,
        browser(chat_app, base, cast.editor) as eddie,
    ):
        await eddie.http.post(f"{CHAT}/rooms/{room}/presence", json={"state": "here"})
        socket = await olga.socket()
        await socket.subscribe(topic)
        snapshot = await next_frame(socket, topic, "snapshot")
        assert snapshot["data"] == {"room": room, "present": ["eddie"], "typing": []}
        await eddie.http.post(f"{CHAT}/rooms/{room}/presence", json={"state": "typing"})
        assert (await next_frame(socket, topic, "delta"))["data"]["typing"] == ["eddie"]
        await eddie.http.post(f"{CHAT}/rooms/{room}/presence", json={"state": "idle"})
        assert (await next_frame(socket, topic, "delta"))["data"]["typing"] == []
        await olga.http.post(f"{CHAT}/rooms/{room}/presence", json={"state": "typing"})
        assert (await next_frame(socket, topic, "delta"))["data"]["typing"] == ["olga"]
        ended = await next_frame(socket, topic, "delta")  # the typing indicator lasts 6 s
        assert ended["data"] == {"room": room, "present": ["eddie", "olga"], "typing": []}
        await eddie.http.post(f"{CHAT}/rooms/{room}/presence", json={"state": "left"})
        assert (await next_frame(socket, topic, "delta"))["data"]["present"] == ["olga"]
        await socket.close()


async def test_a_reconnecting_client_ends_with_every_change_once(
    chat_app: ChatApp, cast: Cast, rooms: Rooms
) -> None:
    room = rooms.strategy.public_id
    async with (
        served(chat_app.api) as base,
        browser(chat_app, base, cast.owner) as olga,
        browser(chat_app, base, cast.editor) as eddie,
    ):
        for n in range(3):
            await olga.say(chat_app, room, f"before {n}")
        follower = ChatFollower(eddie, room)
        await follower.connect()
        await follower.settle()
        assert follower.messages == await fresh_load(olga, room)

        # Away for a while; the hub's ring still holds what was missed: resumed, no database read.
        await follower.disconnect()
        await olga.say(chat_app, room, "while away")
        chat_app.clock.advance(seconds=3)
        await olga.http.patch(f"{CHAT}/rooms/{room}/messages/1", json={"body": "before 0, edited"})
        await olga.http.delete(f"{CHAT}/rooms/{room}/messages/2")
        catch_ups = follower.copy.catch_ups
        await follower.connect()
        await follower.settle()
        assert follower.copy.catch_ups == catch_ups
        assert follower.messages == await fresh_load(olga, room)

        # Sent back for a snapshot (a new epoch): caught up from the database, in pages.
        await follower.disconnect()
        for n in range(3):
            await olga.say(chat_app, room, f"after the restart {n}")
        await chat_app.live.recheck(room)
        await follower.connect()
        await follower.settle()
        assert follower.copy.catch_ups == catch_ups + 1
        assert follower.messages == await fresh_load(olga, room)

        # A committed change that never reached the hub (its worker died before publishing): the
        # next event's change skips a number, and the client catches up.
        with chat_app.unit as unit:
            post_message(
                session=unit,
                actor=cast.owner,
                room=rooms.strategy,
                body="lost",
                limiter=MemoryRateLimiter(),
            )
            unit.commit()
        await olga.say(chat_app, room, "after the lost one")
        await follower.settle()
        assert follower.copy.catch_ups == catch_ups + 2
        loaded = await fresh_load(olga, room)
        assert follower.messages == loaded
        assert sorted(follower.messages) == list(range(1, len(loaded) + 1))
        assert follower.copy.last_change == max(m["change"] for m in loaded.values())
        await follower.disconnect()
