"""The room server of one worker: opens rooms from the store, serves clients, persists, relays.

A room opens when its first client arrives (rebuilt from the stored updates, or seeded) and closes a
moment after its last client leaves, once every update it applied is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Final

from quanta.collab._relay import Kind, Relay, Relayed, read_reply, reply_body
from quanta.collab._room import EMPTY_UPDATE, Peer, ProtocolError, Room, RoomHooks, Transport
from quanta.collab._store import UpdateStore, seed_update, text_of
from quanta.collab._writer import Writer
from quanta.collab.access import no_seed
from quanta.collab.models import Authorizer, RoomOptions, Seed

logger = logging.getLogger(__name__)

Who = Callable[[], int | None]
"""Who is on the other end of a connection now (a user id, None if not signed in); called in a thread."""

POLICY_VIOLATION: Final = 1008
"""Close code for a refused connection (no access, access revoked, foreign origin)."""
PROTOCOL_ERROR: Final = 1002
GOING_AWAY: Final = 1001
TRY_AGAIN_LATER: Final = 1013
"""Close code for a client too slow to keep up (it reconnects and catches up by syncing)."""


class CollabHub:
    """Collaborative-editing rooms of this worker, one per strategy (``public_id``)."""

    def __init__(
        self,
        *,
        store: UpdateStore,
        authorizer: Authorizer,
        seed: Seed = no_seed,
        relay: Relay | None = None,
        options: RoomOptions | None = None,
    ) -> None:
        self.store = store
        self.options = options or RoomOptions()
        self._authorizer = authorizer
        self._seed = seed
        self._relay = relay
        self._rooms: dict[str, Room] = {}
        self._writers: dict[str, Writer] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._closers: dict[str, asyncio.Task[None]] = {}
        self._started: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop the rooms live on (None until the first client or edit)."""
        return self._loop

    @property
    def rooms(self) -> dict[str, Room]:
        """The rooms open in this worker, by name."""
        return self._rooms

    # ---- serving a client -------------------------------------------------------------------------------

    async def serve(self, transport: Transport, *, public_id: str, who: Who) -> None:
        """Serve one accepted connection until it closes.

        ``who()`` says who is on the other end (the session behind its cookie); it is asked again, with
        the authorizer, at connect and every ``reauthorize_every`` seconds: no role closes the connection
        (1008), a viewer's document updates are dropped.
        """
        user_id, role = await self._authorize(public_id, who)
        if role is None:
            await transport.close(POLICY_VIOLATION, "no access to this strategy")
            return
        limit = self.options.max_pending_messages
        peer = Peer(transport=transport, user_id=user_id, role=role, max_pending=limit)
        room = await self._enter(public_id)
        room.join(peer)
        pump = asyncio.create_task(self._pump(peer), name=f"collab-send-{public_id}")
        try:
            await self._read(room, peer, who)
        finally:
            room.leave(peer)
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
            self._release(public_id)

    async def _read(self, room: Room, peer: Peer, who: Who) -> None:
        while (message := await peer.transport.receive()) is not None:
            if not await self._still_allowed(room.name, peer, who):
                await peer.transport.close(POLICY_VIOLATION, "access to this strategy was withdrawn")
                return
            try:
                room.receive(peer, message)
            except ProtocolError as error:
                logger.warning("closing a collaboration client of %s: %s", room.name, error)
                await peer.transport.close(PROTOCOL_ERROR, "not a y-protocols message")
                return

    async def _pump(self, peer: Peer) -> None:
        try:
            await peer.pump()
        except Exception:  # a failed send means the connection is gone; the reader sees it close
            logger.debug("sending to a collaboration client failed", exc_info=True)
        if peer.overflowed:
            await peer.transport.close(TRY_AGAIN_LATER, "too far behind; reconnect")

    async def _authorize(self, public_id: str, who: Who) -> tuple[int | None, str | None]:
        """Who is connected and their role, asked in a worker thread (both may query the database)."""

        def ask() -> tuple[int | None, str | None]:
            user_id = who()
            return user_id, self._authorizer(public_id=public_id, user_id=user_id)

        return await asyncio.to_thread(ask)

    async def _still_allowed(self, public_id: str, peer: Peer, who: Who) -> bool:
        """Re-check identity and role once ``reauthorize_every`` has passed since the last check."""
        now = time.monotonic()
        if now - peer.checked_at < self.options.reauthorize_every:
            return True
        peer.user_id, role = await self._authorize(public_id, who)
        peer.checked_at = now
        if role is None:
            return False
        peer.role = role
        return True

    # ---- opening and closing rooms ----------------------------------------------------------------------

    async def _enter(self, name: str) -> Room:
        await self._start()
        async with self._locks[name]:
            closer = self._closers.pop(name, None)
            if closer is not None:
                closer.cancel()
            room = self._rooms.get(name)
            if room is None:
                room = await self._open(name)
            return room

    async def _open(self, name: str) -> Room:
        updates = await asyncio.to_thread(self._stored_or_seed, name)
        writer = Writer(name, store=self.store, compact_after=self.options.compact_after, stored=len(updates))
        room = Room(name, options=self.options, hooks=self._hooks(name, writer))
        room.load(updates)
        writer.start()
        self._rooms[name], self._writers[name] = room, writer
        if self._relay is not None:
            self._relay.publish(name, Kind.QUERY, room.state_vector())
        return room

    def _hooks(self, name: str, writer: Writer) -> RoomHooks:
        relay = self._relay
        if relay is None:
            return RoomHooks(persist=writer.put)
        return RoomHooks(
            persist=writer.put,
            publish_update=lambda update: relay.publish(name, Kind.UPDATE, update),
            publish_awareness=lambda update: relay.publish(name, Kind.AWARENESS, update),
        )

    def _stored_or_seed(self, name: str) -> list[bytes]:
        """The room's stored updates; for a room never stored, its seed text, stored first."""
        updates = self.store.load(name)
        if updates:
            return updates
        text = self._seed(name)
        if not text:
            return []
        update = seed_update(text)
        return [update] if self.store.seed(name, update) else self.store.load(name)

    def _release(self, name: str) -> None:
        room = self._rooms.get(name)
        if room is not None and not room.peers and name not in self._closers:
            self._closers[name] = asyncio.create_task(self._close_later(name), name=f"collab-close-{name}")

    async def _close_later(self, name: str) -> None:
        await asyncio.sleep(self.options.linger)
        async with self._locks[name]:
            if self._closers.get(name) is not asyncio.current_task():
                return  # a client came back meanwhile
            del self._closers[name]
            room = self._rooms.get(name)
            if room is not None and not room.peers:
                await self._close_room(name)

    async def _close_room(self, name: str) -> None:
        """Store what is pending, then forget the room (the caller holds its lock)."""
        writer = self._writers.pop(name)
        await writer.stop()
        del self._rooms[name]

    # ---- the worker's lifetime --------------------------------------------------------------------------

    async def _start(self) -> None:
        if self._started is None or _failed(self._started):  # a failed start (Redis down) is retried
            self._loop = asyncio.get_running_loop()
            self._started = asyncio.create_task(self._start_relay(), name="collab-start")
        if self._sweeper is None or self._sweeper.done():
            self._sweeper = asyncio.create_task(self._sweep(), name="collab-sweep")
        await asyncio.shield(self._started)

    async def _start_relay(self) -> None:
        if self._relay is not None:
            await self._relay.start(self._on_relayed, self._resync_all)

    async def close(self) -> None:
        """Disconnect every client, store every pending update, stop relaying (at shutdown)."""
        for closer in self._closers.values():
            closer.cancel()
        self._closers.clear()
        for name, room in list(self._rooms.items()):
            for peer in list(room.peers):
                await peer.transport.close(GOING_AWAY, "the server is restarting")
            async with self._locks[name]:
                if name in self._rooms:
                    await self._close_room(name)
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._relay is not None and self._started is not None:
            await self._relay.close()
        self._started = None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[CollabHub]:
        """``async with hub.running():`` closes the hub when the block ends (an app's lifespan)."""
        try:
            yield self
        finally:
            await self.close()

    async def _sweep(self) -> None:
        interval = self.options.awareness_timeout / 3
        while True:
            await asyncio.sleep(interval)
            now_ms = int(time.time() * 1000)
            for room in list(self._rooms.values()):
                room.forget_silent_peers(now_ms)

    # ---- other workers ----------------------------------------------------------------------------------

    def _on_relayed(self, name: str, message: Relayed) -> None:
        room = self._rooms.get(name)
        if room is None or self._relay is None:
            return
        if message.kind is Kind.UPDATE:
            room.receive_remote_update(message.body)
        elif message.kind is Kind.AWARENESS:
            room.receive_remote_awareness(message.body)
        elif message.kind is Kind.QUERY:
            self._answer_query(room, message)
        elif message.kind is Kind.REPLY:
            self._take_reply(room, message)

    def _answer_query(self, room: Room, message: Relayed) -> None:
        assert self._relay is not None
        body = reply_body(message.sender, room.state_vector(), room.missing_from(message.body))
        self._relay.publish(room.name, Kind.REPLY, body)
        presence = room.local_presence()
        if presence is not None:
            self._relay.publish(room.name, Kind.AWARENESS, presence)

    def _take_reply(self, room: Room, message: Relayed) -> None:
        assert self._relay is not None
        target, state_vector, update = read_reply(message.body)
        room.receive_remote_update(update)
        if target == self._relay.worker_id:
            missing = room.missing_from(state_vector)
            if missing != EMPTY_UPDATE:
                self._relay.publish(room.name, Kind.UPDATE, missing)

    def _resync_all(self) -> None:
        """After Redis comes back: ask the other workers again for what we missed, room by room."""
        if self._relay is None:
            return
        for name, room in self._rooms.items():
            self._relay.publish(name, Kind.QUERY, room.state_vector())

    # ---- reading and replacing the text -----------------------------------------------------------------

    async def replace_text(self, public_id: str, text: str) -> bool:
        """Make a room's text ``text`` (opening the room if needed): every client, the store and the
        other workers get the change; whether anything changed."""
        room = await self._enter(public_id)
        try:
            return room.replace_text(text)
        finally:
            self._release(public_id)

    def room_text(self, public_id: str) -> str:
        """The current source text of a room: live if open in this worker, else as stored (or seeded).

        Callable from any thread: a live room is read on the hub's event loop.
        """
        if public_id in self._rooms and self._loop is not None:
            if _running_loop() is self._loop:
                return str(self._rooms[public_id].text)
            future = asyncio.run_coroutine_threadsafe(self._live_text(public_id), self._loop)
            return future.result(timeout=10)
        return self.stored_text(public_id)

    async def _live_text(self, public_id: str) -> str:
        room = self._rooms.get(public_id)
        return str(room.text) if room is not None else await asyncio.to_thread(self.stored_text, public_id)

    def stored_text(self, public_id: str) -> str:
        """The text as stored (blocking); the seed text for a room never opened."""
        updates = self.store.load(public_id)
        if updates:
            return text_of(updates)
        return self._seed(public_id) or ""


def _failed(task: asyncio.Task[None]) -> bool:
    return task.done() and (task.cancelled() or task.exception() is not None)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
