"""The rooms' update log in the app database (SQLite or PostgreSQL), like pycrdt-store's YStore.

Every update a room applies from its own clients is appended as one row; ``compact`` squashes a room's
rows into one snapshot row (the merge of all of them), in place of the newest row so ``seq`` keeps
its order. Calls are blocking: the room server runs them in a worker thread.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from pycrdt import Doc, Text, merge_updates
from sqlalchemy import Engine

from quanta.collab._integrate import Integrator
from quanta.collab.models import SOURCE, CollabUpdate, utcnow

_TABLE: sa.Table = CollabUpdate.__table__  # type: ignore[attr-defined]

SEED_CLIENT_ID = 1
"""The Yjs client id of seed text: every worker seeding a room writes the very same update (same ids,
same content), so seeding twice, in two workers at once, still yields the text once."""


def replace_text(text: Text, new: str) -> bool:
    """Make ``text`` read ``new`` by replacing only the lines that differ (so the others keep their
    identity: cursors and concurrent edits there survive); whether anything changed. Call it inside one
    transaction to make one update."""
    old = str(text)
    if old == new:
        return False
    before, after = old.splitlines(keepends=True), new.splitlines(keepends=True)
    offsets = [0]
    for line in before:
        offsets.append(offsets[-1] + len(line.encode()))  # pycrdt indexes text in UTF-8 bytes
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for tag, i1, i2, j1, j2 in reversed(matcher.get_opcodes()):
        if tag == "equal":
            continue
        if i2 > i1:
            del text[offsets[i1] : offsets[i2]]
        if j2 > j1:
            text.insert(offsets[i1], "".join(after[j1:j2]))
    return True


def seed_update(text: str) -> bytes:
    """The deterministic update that inserts ``text`` into an empty document's source."""
    doc: Doc[Any] = Doc(client_id=SEED_CLIENT_ID)
    doc.get(SOURCE, type=Text).insert(0, text)
    return doc.get_update()


def text_of(updates: Sequence[bytes]) -> str:
    """The source text of the document made of ``updates`` (in any order)."""
    doc: Doc[Any] = Doc()
    integrator = Integrator(doc)
    for update in updates:
        integrator.apply(update)
    return str(doc.get(SOURCE, type=Text))


class UpdateStore:
    """Append-only log of each room's updates, with compaction."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self._clock = clock

    def load(self, room: str) -> list[bytes]:
        """The room's updates, oldest first."""
        query = sa.select(_TABLE.c.update).where(_TABLE.c.room == room).order_by(_TABLE.c.seq)
        with self._engine.connect() as connection:
            return [bytes(row) for row in connection.execute(query).scalars()]

    def count(self, room: str) -> int:
        """How many rows the room has."""
        query = sa.select(sa.func.count()).select_from(_TABLE).where(_TABLE.c.room == room)
        with self._engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def append(self, room: str, updates: Sequence[bytes]) -> None:
        """Add ``updates`` to the room, in this order, in one transaction."""
        if not updates:
            return
        now = self._clock()
        rows = [{"room": room, "update": update, "created_at": now} for update in updates]
        with self._engine.begin() as connection:
            connection.execute(sa.insert(_TABLE), rows)

    def seed(self, room: str, update: bytes) -> bool:
        """Store ``update`` as the room's first row if the room has none; whether it did."""
        with self._engine.begin() as connection:
            exists = connection.execute(sa.select(_TABLE.c.seq).where(_TABLE.c.room == room).limit(1))
            if exists.first() is not None:
                return False
            connection.execute(
                sa.insert(_TABLE), {"room": room, "update": update, "created_at": self._clock()}
            )
            return True

    def compact(self, room: str) -> int:
        """Squash the room's rows into one; the number of rows squashed.

        Rows another worker appends meanwhile are left alone (only the rows read are replaced), so
        compaction never loses an update, and two compactions at once are harmless.
        """
        query = sa.select(_TABLE.c.seq, _TABLE.c.update).where(_TABLE.c.room == room).order_by(_TABLE.c.seq)
        with self._engine.begin() as connection:
            rows = connection.execute(query).all()
            if len(rows) < 2:
                return len(rows)
            snapshot = merge_updates(*(bytes(row.update) for row in rows))
            newest = rows[-1].seq
            older = [row.seq for row in rows[:-1]]
            connection.execute(sa.delete(_TABLE).where(_TABLE.c.seq.in_(older)))
            connection.execute(
                sa.update(_TABLE)
                .where(_TABLE.c.seq == newest)
                .values(update=snapshot, created_at=self._clock())
            )
            return len(rows)

    def replace(self, room: str, text: str) -> bool:
        """Change a room's stored text to ``text`` with one more update (a room nobody has open: open
        rooms change through ``CollabHub.replace_text``); whether it changed."""
        doc: Doc[Any] = Doc()
        integrator = Integrator(doc)
        for update in self.load(room):
            integrator.apply(update)
        before = doc.get_state()
        with doc.transaction():
            changed = replace_text(doc.get(SOURCE, type=Text), text)
        if changed:
            self.append(room, [doc.get_update(before)])
        return changed

    def text(self, room: str) -> str:
        """The room's stored source text."""
        return text_of(self.load(room))

    def delete(self, room: str) -> None:
        """Forget the room (for example when its strategy is deleted)."""
        with self._engine.begin() as connection:
            connection.execute(sa.delete(_TABLE).where(_TABLE.c.room == room))
