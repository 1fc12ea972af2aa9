"""One shared document in one worker: its clients, the Yjs sync and awareness protocols, and what is
applied, relayed and persisted.

The wire format is y-protocols' (what y-websocket speaks): a message is ``[0, sync step, payload]``
(sync step 1: a state vector; step 2 and update: a document update) or ``[1, payload]`` (awareness).
Every method runs on the event loop: a room is never touched from another thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from pycrdt import (
    Awareness,
    Decoder,
    Doc,
    Text,
    TransactionEvent,
    YMessageType,
    YSyncMessageType,
    create_awareness_message,
    create_sync_message,
    create_update_message,
    merge_updates,
    read_message,
    write_message,
)

from quanta.collab._integrate import Integrator
from quanta.collab._store import replace_text
from quanta.collab.models import SOURCE, RoomOptions, can_write

logger = logging.getLogger(__name__)

QUERY_AWARENESS: Final = 3
"""y-websocket's request for every presence state."""
EMPTY_UPDATE: Final = b"\x00\x00"


class ProtocolError(ValueError):
    """A client sent bytes that are not a y-protocols message."""


class Transport(Protocol):
    """A client's connection as the room server sees it (a websocket, in the app)."""

    async def send(self, message: bytes) -> None:
        """Send one binary message."""

    async def receive(self) -> bytes | None:
        """The next binary message, or None once the connection is closed."""

    async def close(self, code: int, reason: str) -> None:
        """Close the connection (no error if it is closed already)."""


@dataclass(eq=False, kw_only=True)
class Peer:
    """One connected client: its role, what it is sent, and the presence states it controls."""

    transport: Transport
    user_id: int | None
    role: str
    max_pending: int
    checked_at: float = field(default_factory=time.monotonic)
    controlled: set[int] = field(default_factory=set)
    outbox: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    dropped_updates: int = 0
    overflowed: bool = False

    @property
    def can_write(self) -> bool:
        """Whether the room applies this client's document updates."""
        return can_write(self.role)

    def deliver(self, message: bytes) -> None:
        """Queue ``message`` for this client; a client that falls too far behind is cut off."""
        if self.overflowed:
            return
        if self.outbox.qsize() >= self.max_pending:
            self.overflowed = True
            self.outbox.put_nowait(None)
            return
        self.outbox.put_nowait(message)

    async def pump(self) -> None:
        """Send queued messages in order until the queue says stop or the connection fails."""
        while (message := await self.outbox.get()) is not None:
            await self.transport.send(message)


@dataclass(frozen=True, kw_only=True)
class RoomHooks:
    """Where a room sends what it applies: the store (local updates only) and the relay (if any)."""

    persist: Callable[[bytes], None]
    publish_update: Callable[[bytes], None] | None = None
    publish_awareness: Callable[[bytes], None] | None = None


class Room:
    """A shared document and the clients editing it in this worker."""

    def __init__(self, name: str, *, options: RoomOptions, hooks: RoomHooks) -> None:
        self.name = name
        self.doc: Doc[Any] = Doc()
        self.text = self.doc.get(SOURCE, type=Text)
        self.awareness = Awareness(self.doc, outdated_timeout=int(options.awareness_timeout * 1000))
        self.awareness.set_local_state(None)  # the server itself is nobody's peer
        self.peers: set[Peer] = set()
        self._options = options
        self._hooks = hooks
        self._applied: list[bytes] = []
        self._integrator = Integrator(self.doc)
        self.doc.observe(self._on_change)

    # ---- the document ---------------------------------------------------------------------------------

    def load(self, updates: list[bytes]) -> None:
        """Start from stored updates (before any client joins)."""
        for update in updates:
            self._integrator.apply(update)

    def apply(self, update: bytes) -> bytes | None:
        """Apply ``update``; what it changed (as one update), or None if the document knew it all or
        it waits for updates it builds on (it is applied when they come)."""
        self._applied.clear()
        self._integrator.apply(update)
        if len(self._applied) > 1:
            return merge_updates(*self._applied)
        return self._applied[0] if self._applied else None

    def replace_text(self, new: str) -> bool:
        """Make the text ``new`` on the server's behalf (restoring a saved version): the changed lines
        are replaced, and the change goes to every client, the store and the other workers like a
        client's edit; whether anything changed."""
        self._applied.clear()
        with self.doc.transaction(origin="server"):
            changed = replace_text(self.text, new)
        if not changed or not self._applied:
            return False
        change = merge_updates(*self._applied) if len(self._applied) > 1 else self._applied[0]
        self._broadcast(create_update_message(change))
        self._hooks.persist(change)
        if self._hooks.publish_update is not None:
            self._hooks.publish_update(change)
        return True

    def _on_change(self, event: TransactionEvent) -> None:
        self._applied.append(event.update)

    def state_vector(self) -> bytes:
        """What this copy of the document has seen."""
        return self.doc.get_state()

    def missing_from(self, state_vector: bytes) -> bytes:
        """The update that brings a copy with ``state_vector`` up to this one."""
        return self.doc.get_update(state_vector)

    # ---- clients --------------------------------------------------------------------------------------

    def join(self, peer: Peer) -> None:
        """Add a client and greet it: our state vector (sync step 1) and everyone's presence."""
        self.peers.add(peer)
        peer.deliver(create_sync_message(self.doc))
        if self.awareness.states:
            peer.deliver(self._presence_message())

    def leave(self, peer: Peer) -> None:
        """Remove a client and tell the others its presence is gone."""
        self.peers.discard(peer)
        gone = [client for client in peer.controlled if client in self.awareness.states]
        if not gone:
            return
        self.awareness.remove_awareness_states(gone, "left")
        update = self.awareness.encode_awareness_update(gone)
        self._broadcast(create_awareness_message(update))
        if self._hooks.publish_awareness is not None:
            self._hooks.publish_awareness(update)

    def receive(self, peer: Peer, message: bytes) -> None:
        """Handle one message from a local client; ``ProtocolError`` if it is malformed."""
        try:
            kind = message[0]
            if kind == YMessageType.SYNC:
                self._receive_sync(peer, message[1], read_message(message[2:]))
            elif kind == YMessageType.AWARENESS:
                self._receive_awareness(peer, read_message(message[1:]))
            elif kind == QUERY_AWARENESS:
                peer.deliver(self._presence_message())
        except (IndexError, ValueError, RuntimeError, AssertionError, UnicodeDecodeError) as error:
            raise ProtocolError(str(error)) from error

    def _receive_sync(self, peer: Peer, step: int, payload: bytes) -> None:
        if step == YSyncMessageType.SYNC_STEP1:
            peer.deliver(sync_step2_message(self.missing_from(payload)))
            return
        if step not in (YSyncMessageType.SYNC_STEP2, YSyncMessageType.SYNC_UPDATE) or payload == EMPTY_UPDATE:
            return
        if not peer.can_write:
            peer.dropped_updates += 1
            return
        change = self.apply(payload)
        if change is None:
            return
        self._broadcast(create_update_message(change), skip=peer)
        self._hooks.persist(change)
        if self._hooks.publish_update is not None:
            self._hooks.publish_update(change)

    def _receive_awareness(self, peer: Peer, update: bytes) -> None:
        for client, present in presence_entries(update):
            if present:
                peer.controlled.add(client)
            else:
                peer.controlled.discard(client)
        self.awareness.apply_awareness_update(update, "local")
        # Back to every client, the sender too: y-websocket counts it as a sign the connection is alive.
        self._broadcast(create_awareness_message(update))
        if self._hooks.publish_awareness is not None:
            self._hooks.publish_awareness(update)

    # ---- other workers (through the relay) --------------------------------------------------------------

    def receive_remote_update(self, update: bytes) -> None:
        """An update another worker applied: apply it and pass it on to our clients (not stored here)."""
        change = self.apply(update)
        if change is not None:
            self._broadcast(create_update_message(change))

    def receive_remote_awareness(self, update: bytes) -> None:
        """Presence from another worker's clients: keep it and pass it on to ours."""
        self.awareness.apply_awareness_update(update, "remote")
        self._broadcast(create_awareness_message(update))

    def local_presence(self) -> bytes | None:
        """The awareness update of every presence state our own clients control (None if none)."""
        clients = [c for peer in self.peers for c in peer.controlled if c in self.awareness.states]
        return self.awareness.encode_awareness_update(clients) if clients else None

    # ---- housekeeping -----------------------------------------------------------------------------------

    def forget_silent_peers(self, now_ms: int) -> list[int]:
        """Drop presence not renewed within the awareness timeout; the client ids dropped."""
        timeout_ms = self._options.awareness_timeout * 1000
        stale = [
            client
            for client in self.awareness.states
            if now_ms - self.awareness.meta[client]["lastUpdated"] >= timeout_ms
        ]
        if stale:
            self.awareness.remove_awareness_states(stale, "timeout")
        return stale

    def _presence_message(self) -> bytes:
        update = self.awareness.encode_awareness_update(list(self.awareness.states))
        return create_awareness_message(update)

    def _broadcast(self, message: bytes, *, skip: Peer | None = None) -> None:
        for peer in self.peers:
            if peer is not skip:
                peer.deliver(message)


def sync_step2_message(update: bytes) -> bytes:
    """The answer to a sync step 1: what the asker lacks."""
    return bytes([YMessageType.SYNC, YSyncMessageType.SYNC_STEP2]) + write_message(update)


def presence_entries(update: bytes) -> list[tuple[int, bool]]:
    """The client ids of an awareness update, each with whether it carries a state (False: it left)."""
    decoder = Decoder(update)
    entries = []
    for _ in range(decoder.read_var_uint()):
        client = decoder.read_var_uint()
        decoder.read_var_uint()  # clock
        state = decoder.read_var_string()
        entries.append((client, bool(state) and json.loads(state) is not None))
    return entries
