"""Write-behind of one room's updates: queued on the event loop, stored in batches in a worker thread.

A batch that fails to store is kept and retried, so a database hiccup delays persistence but loses no
update; ``stop`` stores everything still queued before it returns.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from quanta.collab._store import UpdateStore

logger = logging.getLogger(__name__)

RETRY_SECONDS: Final = 1.0
ATTEMPTS_WHEN_STOPPING: Final = 5


class Writer:
    """Appends a room's updates to the store, and compacts the room when it grows past a bound."""

    def __init__(self, room: str, *, store: UpdateStore, compact_after: int, stored: int) -> None:
        self._room = room
        self._store = store
        self._compact_after = compact_after
        self._rows = stored
        self._pending: list[bytes] = []
        self._wake = asyncio.Event()
        self._stopping = False
        self._failures = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin writing in the background."""
        self._task = asyncio.create_task(self._run(), name=f"collab-store-{self._room}")

    def put(self, update: bytes) -> None:
        """Queue an update to store."""
        self._pending.append(update)
        self._wake.set()

    async def stop(self) -> None:
        """Store what is queued, then stop."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._write_pending()
            if self._stopping and not self._pending:
                return

    async def _write_pending(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            await asyncio.to_thread(self._store.append, self._room, batch)
        except Exception:  # keep the batch; the next attempt stores it (and what came meanwhile)
            self._failures += 1
            if self._stopping and self._failures >= ATTEMPTS_WHEN_STOPPING:
                logger.exception("gave up storing %d updates of room %s", len(batch), self._room)
                return
            logger.exception("storing %d updates of room %s failed; retrying", len(batch), self._room)
            self._pending[:0] = batch
            await asyncio.sleep(RETRY_SECONDS)
            self._wake.set()
            return
        self._failures = 0
        self._rows += len(batch)
        if self._rows > self._compact_after:
            await self._compact()

    async def _compact(self) -> None:
        try:
            await asyncio.to_thread(self._store.compact, self._room)
            self._rows = 1
        except Exception:  # compaction is an optimisation: the rows it would squash stay valid
            logger.exception("compacting room %s failed", self._room)
