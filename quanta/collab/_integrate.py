"""Applying updates that may arrive before the updates they build on.

Yjs keeps such an update aside ("pending") and integrates it once the missing part arrives. yrs 0.28 (under
pycrdt 0.14) can drop a pending update when a second one is set aside before the gap is filled (for
example the two after a missing one: apply u1, u3, u4, then u2, and u3's text is gone). This happens to a
room when a reconnecting client types before its sync reply is in, or when another worker's updates
arrive ahead of the catch-up reply; to a Python client when broadcasts overtake its first sync reply.

``Integrator`` keeps a copy of an update the document has not fully integrated, and of every update after
it until none waits any more, and applies the copies again whenever the document moves on: applying an
update twice is harmless, and a lost one comes back.
"""

from __future__ import annotations

import logging
from typing import Any, Final

from pycrdt import Doc, get_update

logger = logging.getLogger(__name__)

MAX_HELD: Final = 1000
"""Updates kept for a later retry; past this the oldest go (their sender resyncs on reconnect)."""


class Integrator:
    """Applies updates to one document, retrying those whose dependencies had not arrived."""

    def __init__(self, doc: Doc[Any]) -> None:
        self._doc = doc
        self._held: list[bytes] = []

    @property
    def waiting(self) -> int:
        """How many updates still wait for what they build on."""
        return len(self._held)

    def apply(self, update: bytes) -> None:
        """Apply ``update``; while some update waits, keep every update and retry them all whenever
        the document moves on, until nothing more integrates."""
        if not self._held:  # the usual case: in order
            self._doc.apply_update(update)
            if not self._integrated(update):
                self._held.append(update)
            return
        before = self._doc.get_state()
        self._doc.apply_update(update)
        self._held.append(update)
        del self._held[:-MAX_HELD]
        if self._doc.get_state() != before:
            self._retry()

    def _retry(self) -> None:
        while True:
            before = self._doc.get_state()
            for update in self._held:
                self._doc.apply_update(update)
            if self._doc.get_state() == before:
                break
        if all(self._integrated(update) for update in self._held):
            self._held.clear()

    def _integrated(self, update: bytes) -> bool:
        """Whether every item of ``update`` is in the document (its part unseen by the document is empty)."""
        return get_update(update, self._doc.get_state())[:1] == b"\x00"
