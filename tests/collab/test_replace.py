"""Replacing a room's text on the server's behalf (restoring a saved version): every client sees it, only
the lines that differ change (so an edit elsewhere survives), and it is stored — with or without an open
room."""

from __future__ import annotations

from typing import Any

import pytest
from pycrdt import Doc, Text

from quanta import db
from quanta.collab import SOURCE, UpdateStore, replace_room_text, room_text, seed_update
from quanta.collab._store import replace_text
from quanta.collab.service import set_current_hub
from quanta.settings import Settings
from tests.collab.conftest import ROOM, People, RoleTable, eventually, joined, make_hub, serve

pytestmark = pytest.mark.anyio

VERSION_1 = "class Cross(Strategy):\n    fast = 10\n    slow = 30\n\n    def next(self):\n        pass\n"
VERSION_2 = "class Cross(Strategy):\n    fast = 5\n    slow = 30\n\n    def next(self):\n        self.buy()\n"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (VERSION_1, VERSION_2),
        (VERSION_2, VERSION_1),
        ("", "x = 1\n"),
        ("x = 1\n", ""),
        ("# café ☕\nfast = 1\n", "# café ☕\nfast = 2  # naïve 😀\n"),
        ("a\nb\nc", "a\nB\nc"),
        ("αβγ\n" * 3, "αβγ\nδ\n" * 2),
    ],
)
async def test_replacing_text_gives_exactly_the_new_text(old: str, new: str) -> None:
    doc: Doc[Any] = Doc()
    text = doc.get(SOURCE, type=Text)
    text.insert(0, old)
    with doc.transaction():
        changed = replace_text(text, new)
    assert str(text) == new
    assert changed is (old != new)


async def test_a_restore_reaches_every_client_and_keeps_a_concurrent_edit_elsewhere(
    settings: Settings, people: People, roles: RoleTable
) -> None:
    hub = make_hub(settings, roles)
    with serve(hub, settings) as base:
        ada = await joined(f"{base}/{ROOM}", people.cookies["ada"], name="Ada")
        vic = await joined(f"{base}/{ROOM}", people.cookies["vic"], name="Vic")
        ada.text.insert(0, VERSION_1)
        await eventually(lambda: str(vic.text) == VERSION_1, what="the viewer has version 1")

        ada.text.insert(0, "# Ada was here\n")
        changed = await replace_room_text(ROOM, VERSION_2)

        expected = "# Ada was here\n" + VERSION_2
        assert changed is True
        await eventually(lambda: str(ada.text) == str(vic.text) == expected, what="both see the restore")
        assert await replace_room_text(ROOM, expected) is False
        await ada.disconnect()
        await vic.disconnect()
    assert hub.stored_text(ROOM) == expected


async def test_a_room_nobody_has_open_is_replaced_in_the_store(settings: Settings) -> None:
    set_current_hub(None)
    store = UpdateStore(db.engine(settings))
    store.seed(ROOM, seed_update(VERSION_1))

    assert await replace_room_text(ROOM, VERSION_2, settings=settings) is True

    assert store.text(ROOM) == VERSION_2
    assert store.count(ROOM) == 2
    assert room_text(ROOM, settings=settings) == VERSION_2
    assert await replace_room_text("never-opened", "x = 1\n", settings=settings) is True
    assert store.text("never-opened") == "x = 1\n"
