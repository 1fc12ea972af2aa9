"""A Python peer of a room: a pycrdt document kept in sync with the room server over a websocket,
speaking what y-websocket speaks (sync and awareness). For scripts, tests and benchmarks::

    client = CollabClient(name="bot")
    await client.connect("ws://127.0.0.1:3000/collab/abc123", cookie="quanta_session=…")
    await client.synced.wait()
    client.text.insert(0, "# hello\\n")      # sent to the room at once
    await client.disconnect()                # edits made now are kept, and sent on reconnect

The document outlives connections: edits made while disconnected merge when it connects again.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from pycrdt import (
    Awareness,
    Doc,
    Text,
    TransactionEvent,
    YMessageType,
    YSyncMessageType,
    create_awareness_message,
    create_sync_message,
    create_update_message,
    read_message,
)

from quanta.collab._integrate import Integrator
from quanta.collab._room import sync_step2_message
from quanta.collab._ws import ConnectionClosed, WebSocketClient
from quanta.collab.models import SOURCE

__all__ = ["CollabClient", "ConnectionClosed"]


class CollabClient:
    """A document, its presence, and (while connected) the websocket to its room."""

    def __init__(self, *, name: str = "", color: str = "#888888", doc: Doc[Any] | None = None) -> None:
        self.doc: Doc[Any] = doc if doc is not None else Doc()
        self.text = self.doc.get(SOURCE, type=Text)
        self.awareness = Awareness(self.doc)
        self.awareness.set_local_state({"user": {"name": name, "color": color}} if name else None)
        self.synced = asyncio.Event()
        self.changed = asyncio.Event()
        """Set whenever the document changes; clear it before waiting for the next change."""
        self.close_code: int | None = None
        self._socket: WebSocketClient | None = None
        self._reader: asyncio.Task[None] | None = None
        self._applying_remote = False
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue()
        self._sender: asyncio.Task[None] | None = None
        self._integrator = Integrator(self.doc)
        self.doc.observe(self._on_change)

    @property
    def connected(self) -> bool:
        """Whether the websocket is open."""
        return self._reader is not None and not self._reader.done()

    @property
    def peers(self) -> list[dict[str, Any]]:
        """The ``user`` of every other client's presence (``{"name", "color"}``)."""
        return [
            state["user"]
            for client, state in self.awareness.states.items()
            if client != self.awareness.client_id and state and "user" in state
        ]

    async def connect(self, url: str, *, cookie: str | None = None, origin: str | None = None) -> None:
        """Open the room at ``url`` and start syncing (``synced`` is set once the server's state arrived)."""
        headers = [("cookie", cookie)] if cookie else []
        if origin:
            headers.append(("origin", origin))
        self.synced.clear()
        self.close_code = None
        self._socket = await WebSocketClient.connect(url, headers=headers)
        self._outbox = asyncio.Queue()
        self._outbox.put_nowait(create_sync_message(self.doc))
        local = self.awareness.get_local_state()
        if local is not None:
            update = self.awareness.encode_awareness_update([self.awareness.client_id])
            self._outbox.put_nowait(create_awareness_message(update))
        self._sender = asyncio.create_task(self._send_queued(self._socket), name="collab-client-send")
        self._reader = asyncio.create_task(self._receive(self._socket), name="collab-client-receive")

    async def disconnect(self) -> None:
        """Close the websocket; the document stays, with any edits made afterwards."""
        socket, self._socket = self._socket, None
        if socket is not None:
            await socket.close()
        for task in (self._sender, self._reader):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def closed(self) -> int:
        """Wait until the server closes the connection; its close code."""
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        return self.close_code if self.close_code is not None else 1006

    def set_presence(self, state: dict[str, Any] | None) -> None:
        """Change this client's presence (sent at once when connected)."""
        self.awareness.set_local_state(state)
        update = self.awareness.encode_awareness_update([self.awareness.client_id])
        self._queue(create_awareness_message(update))

    def _on_change(self, event: TransactionEvent) -> None:
        self.changed.set()
        if not self._applying_remote:
            self._queue(create_update_message(event.update))

    def _queue(self, message: bytes) -> None:
        if self._socket is not None:
            self._outbox.put_nowait(message)

    async def _send_queued(self, socket: WebSocketClient) -> None:
        with contextlib.suppress(ConnectionClosed, OSError):
            while True:
                await socket.send(await self._outbox.get())

    async def _receive(self, socket: WebSocketClient) -> None:
        try:
            while True:
                self._handle(await socket.recv())
        except ConnectionClosed as closed:
            self.close_code = closed.code
            self._socket = None
            if self._sender is not None:
                self._sender.cancel()

    def _handle(self, message: bytes) -> None:
        if message[0] == YMessageType.SYNC:
            step, payload = message[1], read_message(message[2:])
            if step == YSyncMessageType.SYNC_STEP1:
                self._queue(sync_step2_message(self.doc.get_update(payload)))
                return
            self._applying_remote = True
            try:
                self._integrator.apply(payload)
            finally:
                self._applying_remote = False
            if step == YSyncMessageType.SYNC_STEP2:
                self.synced.set()
        elif message[0] == YMessageType.AWARENESS:
            self.awareness.apply_awareness_update(read_message(message[1:]), "remote")
