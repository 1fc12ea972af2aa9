"""A small asyncio websocket client on wsproto (binary messages), for Python peers of a room."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Final
from urllib.parse import urlsplit

from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    RejectConnection,
    Request,
)

_CHUNK: Final = 65536
_CLOSE_WAIT: Final = 5.0
ABNORMAL_CLOSURE: Final = 1006


class ConnectionClosed(Exception):  # noqa: N818 - the name websockets libraries use
    """The websocket is closed; ``code`` is the close code (1006 when the connection just dropped)."""

    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(f"websocket closed ({code}) {reason}".strip())
        self.code = code
        self.reason = reason


class HandshakeRefused(ConnectionClosed):
    """The server answered the upgrade with an HTTP status instead of a websocket."""


class WebSocketClient:
    """One client connection: ``await WebSocketClient.connect(url)``, then ``send``/``recv``/``close``."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, ws: WSConnection) -> None:
        self._reader, self._writer, self._ws = reader, writer, ws
        self._inbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._parts: list[bytes] = []
        self._send_lock = asyncio.Lock()
        self.close_code: int | None = None
        self.close_reason = ""
        self._reading = asyncio.create_task(self._read(), name="websocket-read")

    @classmethod
    async def connect(cls, url: str, *, headers: Sequence[tuple[str, str]] = ()) -> WebSocketClient:
        """Open ``ws://host:port/path`` (no TLS) with extra request ``headers``."""
        parts = urlsplit(url)
        port = parts.port or 80
        reader, writer = await asyncio.open_connection(parts.hostname, port)
        ws = WSConnection(ConnectionType.CLIENT)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        extra = [(name.encode(), value.encode()) for name, value in headers]
        writer.write(ws.send(Request(host=parts.netloc, target=target, extra_headers=extra)))
        await writer.drain()
        await _handshake(reader, writer, ws)
        return cls(reader, writer, ws)

    async def send(self, message: bytes) -> None:
        """Send one binary message; ``ConnectionClosed`` if the connection is closed."""
        async with self._send_lock:
            if self._ws.state is not ConnectionState.OPEN:
                raise ConnectionClosed(self.close_code or ABNORMAL_CLOSURE, self.close_reason)
            self._writer.write(self._ws.send(BytesMessage(data=message)))
            await self._writer.drain()

    async def recv(self) -> bytes:
        """The next binary message; ``ConnectionClosed`` once the connection is closed."""
        message = await self._inbox.get()
        if message is None:
            self._inbox.put_nowait(None)
            raise ConnectionClosed(self.close_code or ABNORMAL_CLOSURE, self.close_reason)
        return message

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close politely (waits briefly for the server's answer), then drop the connection."""
        async with self._send_lock:
            if self._ws.state is ConnectionState.OPEN:
                with contextlib.suppress(OSError):
                    self._writer.write(self._ws.send(CloseConnection(code=code, reason=reason)))
                    await self._writer.drain()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._reading), timeout=_CLOSE_WAIT)
        self._reading.cancel()
        await self._drop()

    async def _read(self) -> None:
        try:
            open_ = self._take_events()  # messages that came with the handshake's answer
            while open_ and (data := await self._reader.read(_CHUNK)):
                self._ws.receive_data(data)
                open_ = self._take_events()
                await self._writer.drain()
        except OSError:
            pass
        finally:
            self._inbox.put_nowait(None)
            await self._drop()

    def _take_events(self) -> bool:
        """Handle what wsproto has parsed; False once the connection is closed."""
        for event in self._ws.events():
            if isinstance(event, BytesMessage):
                self._take(event)
            elif isinstance(event, Ping):
                self._writer.write(self._ws.send(event.response()))
            elif isinstance(event, CloseConnection):
                self.close_code, self.close_reason = event.code, event.reason or ""
                if self._ws.state is ConnectionState.REMOTE_CLOSING:
                    self._writer.write(self._ws.send(event.response()))
                return False
        return True

    def _take(self, event: BytesMessage) -> None:
        self._parts.append(bytes(event.data))
        if event.message_finished:
            self._inbox.put_nowait(b"".join(self._parts))
            self._parts = []

    async def _drop(self) -> None:
        if not self._writer.is_closing():
            self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


async def _handshake(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, ws: WSConnection) -> None:
    while True:
        data = await reader.read(_CHUNK)
        if not data:
            writer.close()
            raise ConnectionClosed(ABNORMAL_CLOSURE, "the server closed during the handshake")
        ws.receive_data(data)
        for event in ws.events():
            if isinstance(event, AcceptConnection):
                return  # wsproto keeps any bytes after the answer for the next events()
            if isinstance(event, RejectConnection):
                writer.close()
                raise HandshakeRefused(ABNORMAL_CLOSURE, f"HTTP {event.status_code}")
            _unexpected(event)


def _unexpected(event: Event) -> None:
    msg = f"unexpected websocket event during the handshake: {event!r}"
    raise ConnectionClosed(ABNORMAL_CLOSURE, msg)
