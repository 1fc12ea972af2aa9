"""A Python client of the broadcast websocket (asyncio, on wsproto), for tests, benchmarks and bots::

    client = await BroadcastClient.connect("ws://127.0.0.1:3000/live/ws")
    await client.subscribe("market.bars.1s.GOOG")
    while True:
        frame = await client.receive()          # {"topic", "seq", "kind", "data", ...}

:class:`Follower` keeps one topic's state across reconnects the way the browser component does:
it applies snapshots and deltas, checks that every delta is the previous one plus one, and resumes
after a reconnect from the last sequence number it applied.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)

_CHUNK: Final = 65536
_CLOSE_WAIT: Final = 2.0
ABNORMAL_CLOSURE: Final = 1006


class ConnectionClosed(Exception):  # noqa: N818 - the name websocket libraries use
    """The websocket is closed; ``code`` is the close code (1006 when the connection just dropped)."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"websocket closed ({code}) {reason}".strip())
        self.code = code
        self.reason = reason


class HandshakeRefused(ConnectionClosed):
    """The server answered the upgrade with an HTTP status instead of a websocket."""

    def __init__(self, status: int) -> None:
        super().__init__(ABNORMAL_CLOSURE, f"HTTP {status}")
        self.status = status


class BroadcastClient:
    """One connection to the broadcast websocket (see the module docstring)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, ws: WSConnection) -> None:
        self._reader, self._writer, self._ws = reader, writer, ws
        self._inbox: asyncio.Queue[str | None] = asyncio.Queue()
        self._frames: list[str] = []
        self._parts: list[str] = []
        self.close_code: int | None = None
        self.close_reason = ""
        self._reading = asyncio.create_task(self._read(), name="broadcast-client-read")

    @classmethod
    async def connect(cls, url: str, *, headers: Sequence[tuple[str, str]] = ()) -> BroadcastClient:
        """Open ``ws://host:port/path`` with extra request ``headers`` (``Cookie``, ``Origin``)."""
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
        ws = WSConnection(ConnectionType.CLIENT)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        extra = [(name.encode(), value.encode()) for name, value in headers]
        writer.write(ws.send(Request(host=parts.netloc, target=target, extra_headers=extra)))
        await writer.drain()
        try:
            await _handshake(reader, ws)
        except BaseException:
            writer.close()
            raise
        return cls(reader, writer, ws)

    @property
    def open(self) -> bool:
        """Whether the connection is open."""
        return self._ws.state is ConnectionState.OPEN

    async def send(self, request: dict[str, Any]) -> None:
        """Send one request (a JSON object)."""
        if not self.open:
            raise ConnectionClosed(self.close_code or ABNORMAL_CLOSURE, self.close_reason)
        self._writer.write(self._ws.send(TextMessage(data=json.dumps(request))))
        await self._writer.drain()

    async def subscribe(self, topic: str, *, after: int | None = None, epoch: str | None = None) -> None:
        """Follow ``topic`` (from ``after`` of ``epoch``, or from a snapshot)."""
        await self.send({"op": "subscribe", "topic": topic, "after": after, "epoch": epoch})

    async def unsubscribe(self, topic: str) -> None:
        """Stop following ``topic``."""
        await self.send({"op": "unsubscribe", "topic": topic})

    async def ping(self) -> None:
        """Ask for a pong (keepalive)."""
        await self.send({"op": "ping"})

    async def receive_text(self) -> str:
        """The next frame's JSON text; ``ConnectionClosed`` once the connection is closed."""
        while not self._frames:
            message = await self._inbox.get()
            if message is None:
                self._inbox.put_nowait(None)
                raise ConnectionClosed(self.close_code or ABNORMAL_CLOSURE, self.close_reason)
            self._frames = message.split("\n")
            self._frames.reverse()
        return self._frames.pop()

    async def receive(self) -> dict[str, Any]:
        """The next frame."""
        frame: dict[str, Any] = json.loads(await self.receive_text())
        return frame

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close politely (waits briefly for the server's answer), then drop the connection."""
        if self._ws.state is ConnectionState.OPEN:
            with contextlib.suppress(OSError):
                self._writer.write(self._ws.send(CloseConnection(code=code, reason=reason)))
                await self._writer.drain()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._reading), timeout=_CLOSE_WAIT)
        self.abort()

    def abort(self) -> None:
        """Drop the connection at once (as a network failure would)."""
        self._reading.cancel()
        if not self._writer.is_closing():
            self._writer.close()
        self._inbox.put_nowait(None)

    async def _read(self) -> None:
        try:
            open_ = self._take_events()  # frames that came with the handshake's answer
            while open_ and (data := await self._reader.read(_CHUNK)):
                self._ws.receive_data(data)
                open_ = self._take_events()
                await self._writer.drain()
        except OSError:
            pass
        finally:
            self._inbox.put_nowait(None)
            if not self._writer.is_closing():
                self._writer.close()

    def _take_events(self) -> bool:
        """Handle what wsproto has parsed; False once the connection is closed."""
        for event in self._ws.events():
            if isinstance(event, TextMessage):
                self._parts.append(event.data)
                if event.message_finished:
                    self._inbox.put_nowait("".join(self._parts))
                    self._parts = []
            elif isinstance(event, BytesMessage):
                continue
            elif isinstance(event, Ping):
                self._writer.write(self._ws.send(event.response()))
            elif isinstance(event, CloseConnection):
                self.close_code, self.close_reason = event.code, event.reason or ""
                if self._ws.state is ConnectionState.REMOTE_CLOSING:
                    self._writer.write(self._ws.send(event.response()))
                return False
        return True


async def _handshake(reader: asyncio.StreamReader, ws: WSConnection) -> None:
    while True:
        data = await reader.read(_CHUNK)
        if not data:
            raise ConnectionClosed(ABNORMAL_CLOSURE, "the server closed during the handshake")
        ws.receive_data(data)
        for event in ws.events():
            if isinstance(event, AcceptConnection):
                return  # wsproto keeps any bytes after the answer for the next events()
            if isinstance(event, RejectConnection):
                raise HandshakeRefused(event.status_code)
            msg = f"unexpected websocket event during the handshake: {event!r}"
            raise ConnectionClosed(ABNORMAL_CLOSURE, msg)


@dataclass
class Follower:
    """One topic's state on the client side, across reconnects (see the module docstring).

    ``snapshots`` and ``deltas`` record what arrived, so tests can check that the deltas after each
    snapshot are consecutive; ``gaps`` and ``duplicates`` count what a correct server never sends.
    """

    url: str
    topic: str
    headers: Sequence[tuple[str, str]] = ()
    seq: int | None = None
    epoch: str | None = None
    state: str | None = None
    snapshots: list[tuple[int, Any]] = field(default_factory=list)
    deltas: list[tuple[int, Any]] = field(default_factory=list)
    resyncs: int = 0
    gaps: int = 0
    duplicates: int = 0
    client: BroadcastClient | None = None

    async def connect(self) -> None:
        """Connect and subscribe, resuming after the last applied message if there is one."""
        self.client = await BroadcastClient.connect(self.url, headers=self.headers)
        await self.client.subscribe(self.topic, after=self.seq, epoch=self.epoch)

    async def step(self) -> dict[str, Any]:
        """Receive and apply one frame of the topic; return it."""
        assert self.client is not None, "connect first"
        frame = await self.client.receive()
        if frame.get("topic") == self.topic:
            await self._apply(frame)
        return frame

    async def until_seq(self, seq: int, *, timeout: float = 10.0) -> None:
        """Apply frames until message ``seq`` is applied."""
        async with asyncio.timeout(timeout):
            while self.seq is None or self.seq < seq:
                await self.step()

    async def disconnect(self, *, abrupt: bool = False) -> None:
        """Close the connection (``abrupt``: drop it without a close handshake)."""
        if self.client is not None:
            if abrupt:
                self.client.abort()
            else:
                await self.client.close()
            self.client = None

    async def _apply(self, frame: dict[str, Any]) -> None:
        kind, seq = frame.get("kind"), frame.get("seq")
        if kind == "snapshot":
            self.seq, self.epoch = int(frame["seq"]), str(frame["epoch"])
            self.snapshots.append((self.seq, frame["data"]))
        elif kind == "delta" and isinstance(seq, int):
            if self.seq is not None and seq <= self.seq:
                self.duplicates += 1
            elif self.seq is not None and seq != self.seq + 1:
                self.gaps += 1
            else:
                self.seq = seq
                self.deltas.append((seq, frame["data"]))
        elif kind == "status":
            self.state = str(frame["data"]["state"])
        elif kind == "resync" and self.client is not None:
            self.resyncs += 1
            await self.client.subscribe(self.topic, after=self.seq, epoch=self.epoch)
