"""The room server over real websockets: sync, roles at connect and per message, persistence across
restarts, offline edits, seeding. Clients are pycrdt peers speaking y-websocket's protocol."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import Session

from quanta import db
from quanta.accounts.service import sign_out
from quanta.collab import POLICY_VIOLATION, RoomOptions, room_text
from quanta.collab.client import CollabClient
from quanta.settings import Settings
from tests.collab.conftest import ROOM, People, RoleTable, eventually, joined, make_hub, serve, stored_rows

pytestmark = pytest.mark.anyio


async def settled(client: CollabClient) -> None:
    """Wait until the server has handled everything ``client`` sent so far.

    The server handles a connection's messages in order and echoes presence back to its sender, so
    once a fresh presence change comes back, every earlier message was handled.
    """
    marker = {**(client.awareness.get_local_state() or {}), "probe": id(object())}
    client.set_presence(marker)
    await eventually(lambda: client.awareness.states.get(client.awareness.client_id) == marker)
    await asyncio.sleep(0.05)  # the echo is local; give the server's reply a moment to arrive


async def test_two_editors_converge(settings: Settings, people: People, roles: RoleTable) -> None:
    hub = make_hub(settings, roles)
    with serve(hub, settings) as base:
        ada = await joined(f"{base}/{ROOM}", people.cookies["ada"], name="Ada")
        bob = await joined(f"{base}/{ROOM}", people.cookies["bob"], name="Bob")

        ada.text.insert(0, "def init(self):\n    pass\n")
        await eventually(lambda: str(bob.text) == str(ada.text), what="Bob sees Ada's text")
        bob.text.insert(0, "# shared\n")
        ada.text.insert(len(ada.text), "# end\n")

        expected = "# shared\ndef init(self):\n    pass\n# end\n"
        await eventually(lambda: str(ada.text) == str(bob.text) == expected, what="both converge")
        assert await asyncio.to_thread(room_text, ROOM) == expected
        await eventually(lambda: {p["name"] for p in ada.peers} == {"Bob"}, what="Ada sees Bob's presence")
        await ada.disconnect()
        await bob.disconnect()


async def test_a_viewer_follows_along_but_cannot_change_the_document(
    settings: Settings, people: People, roles: RoleTable
) -> None:
    hub = make_hub(settings, roles)
    with serve(hub, settings) as base:
        ada = await joined(f"{base}/{ROOM}", people.cookies["ada"], name="Ada")
        ada.text.insert(0, "x = 1\n")
        vic = await joined(f"{base}/{ROOM}", people.cookies["vic"], name="Vic")
        await eventually(lambda: str(vic.text) == "x = 1\n", what="the viewer receives the document")

        vic.text.insert(0, "import os; os.system('rm -rf /')\n")
        await settled(vic)
        ada.text.insert(len(ada.text), "y = 2\n")

        await eventually(lambda: "y = 2" in str(vic.text), what="the viewer still receives updates")
        await eventually(lambda: "Vic" in {p["name"] for p in ada.peers}, what="the viewer's presence shows")
        assert str(ada.text) == "x = 1\ny = 2\n"
        assert await asyncio.to_thread(room_text, ROOM) == "x = 1\ny = 2\n"
        await ada.disconnect()
        await vic.disconnect()
    assert hub.stored_text(ROOM) == "x = 1\ny = 2\n"
    assert stored_rows(settings) == 2


@pytest.mark.parametrize("who", ["eve", None])
async def test_someone_without_a_role_is_closed_with_policy_violation(
    settings: Settings, people: People, roles: RoleTable, who: str | None
) -> None:
    hub = make_hub(settings, roles)
    with serve(hub, settings) as base:
        intruder = CollabClient(name="Eve")
        await intruder.connect(f"{base}/{ROOM}", cookie=people.cookies[who] if who else None)

        assert await asyncio.wait_for(intruder.closed(), timeout=5) == POLICY_VIOLATION
        assert not intruder.synced.is_set()
        assert hub.rooms == {}


async def test_a_page_of_another_site_is_refused(
    settings: Settings, people: People, roles: RoleTable
) -> None:
    hub = make_hub(settings, roles)
    with serve(hub, settings) as base:
        client = CollabClient()
        await client.connect(f"{base}/{ROOM}", cookie=people.cookies["ada"], origin="https://evil.example")

        assert await asyncio.wait_for(client.closed(), timeout=5) == POLICY_VIOLATION
        assert roles.calls == 0


async def test_withdrawn_access_closes_the_connection_at_its_next_message(
    settings: Settings, people: People, roles: RoleTable
) -> None:
    hub = make_hub(settings, roles, options=RoomOptions(linger=0.05, reauthorize_every=0.0))
    with serve(hub, settings) as base:
        bob = await joined(f"{base}/{ROOM}", people.cookies["bob"], name="Bob")
        bob.text.insert(0, "a = 1\n")
        await settled(bob)
        del roles.roles[(ROOM, people.ids["bob"])]

        bob.text.insert(0, "b = 2\n")

        assert await asyncio.wait_for(bob.closed(), timeout=5) == POLICY_VIOLATION
        assert await asyncio.to_thread(room_text, ROOM) == "a = 1\n"


async def test_signing_out_ends_the_editing_session(
    settings: Settings, people: People, roles: RoleTable
) -> None:
    hub = make_hub(settings, roles, options=RoomOptions(linger=0.05, reauthorize_every=0.0))
    with serve(hub, settings) as base:
        bob = await joined(f"{base}/{ROOM}", people.cookies["bob"], name="Bob")
        with Session(db.engine(settings)) as unit:
            sign_out(session=unit, token=people.cookies["bob"].partition("=")[2])
            unit.commit()

        bob.text.insert(0, "after sign-out\n")

        assert await asyncio.wait_for(bob.closed(), timeout=5) == POLICY_VIOLATION
        assert await asyncio.to_thread(room_text, ROOM) == ""


async def test_a_demoted_editor_becomes_read_only(
    settings: Settings, people: People, roles: RoleTable
) -> None:
    hub = make_hub(settings, roles, options=RoomOptions(linger=0.05, reauthorize_every=0.0))
    with serve(hub, settings) as base:
        bob = await joined(f"{base}/{ROOM}", people.cookies["bob"], name="Bob")
        bob.text.insert(0, "a = 1\n")
        await settled(bob)
        roles.roles[(ROOM, people.ids["bob"])] = "viewer"

        bob.text.insert(0, "b = 2\n")
        await settled(bob)

        assert bob.connected
        assert await asyncio.to_thread(room_text, ROOM) == "a = 1\n"
        await bob.disconnect()


async def test_a_restart_loses_no_edit(settings: Settings, people: People, roles: RoleTable) -> None:
    with serve(make_hub(settings, roles), settings) as base:
        ada = await joined(f"{base}/{ROOM}", people.cookies["ada"])
        bob = await joined(f"{base}/{ROOM}", people.cookies["bob"])
        for line in range(20):
            (ada if line % 2 else bob).text.insert(0, f"line {line}\n")
        await eventually(lambda: str(ada.text) == str(bob.text) and str(ada.text).count("\n") == 20)
        before = str(ada.text)
        # the server stops with both clients still connected

    with serve(make_hub(settings, roles), settings) as base:
        later = await joined(f"{base}/{ROOM}", people.cookies["vic"])
        assert str(later.text) == before
        await later.disconnect()


async def test_offline_edits_merge_when_the_client_reconnects(
    settings: Settings, people: People, roles: RoleTable
) -> None:
    hub = make_hub(settings, roles)
    with serve(hub, settings) as base:
        url = f"{base}/{ROOM}"
        ada = await joined(url, people.cookies["ada"])
        bob = await joined(url, people.cookies["bob"])
        ada.text.insert(0, "middle\n")
        await eventually(lambda: str(bob.text) == "middle\n")

        await ada.disconnect()
        ada.text.insert(0, "ada offline\n")
        bob.text.insert(len(bob.text), "bob online\n")
        await eventually(lambda: "bob online" in hub.stored_text(ROOM))
        assert "ada offline" not in str(bob.text)

        await ada.connect(url, cookie=people.cookies["ada"])
        expected = "ada offline\nmiddle\nbob online\n"
        await eventually(lambda: str(ada.text) == str(bob.text) == expected, what="both converge")
        await ada.disconnect()
        await bob.disconnect()
    assert hub.stored_text(ROOM) == expected


async def test_keystrokes_sent_before_the_reconnect_sync_completes_are_kept(
    settings: Settings, people: People, roles: RoleTable
) -> None:
    hub = make_hub(settings, roles)
    with serve(hub, settings) as base:
        url = f"{base}/{ROOM}"
        ada = await joined(url, people.cookies["ada"])
        bob = await joined(url, people.cookies["bob"])
        ada.text.insert(0, "x = [\n")
        await eventually(lambda: str(bob.text) == "x = [\n")
        await ada.disconnect()
        for item in ("1", ", 2", ", 3"):
            ada.text.insert(len(ada.text), item)  # offline

        await ada.connect(url, cookie=people.cookies["ada"])
        ada.text.insert(len(ada.text), ", 4]\n")  # these go out at once, ahead of the offline edits
        ada.text.insert(0, "# numbers\n")
        ada.text.insert(len(ada.text), "y = x\n")

        expected = "# numbers\nx = [\n1, 2, 3, 4]\ny = x\n"
        await eventually(lambda: str(ada.text) == str(bob.text) == expected, what="both converge")
        await ada.disconnect()
        await bob.disconnect()
    assert hub.stored_text(ROOM) == expected


async def test_a_new_room_starts_from_the_seed_text_once(
    settings: Settings, people: People, roles: RoleTable
) -> None:
    seeded: list[str] = []

    def latest_version(public_id: str) -> str:
        seeded.append(public_id)
        return "class Sma(Strategy):\n    fast = 10\n"

    with serve(make_hub(settings, roles, seed=latest_version), settings) as base:
        ada = await joined(f"{base}/{ROOM}", people.cookies["ada"])
        assert str(ada.text) == "class Sma(Strategy):\n    fast = 10\n"
        ada.text.insert(len(ada.text), "    slow = 20\n")
        await settled(ada)
        await ada.disconnect()

    with serve(make_hub(settings, roles, seed=latest_version), settings) as base:
        bob = await joined(f"{base}/{ROOM}", people.cookies["bob"])
        assert str(bob.text) == "class Sma(Strategy):\n    fast = 10\n    slow = 20\n"
        await bob.disconnect()
    assert seeded == [ROOM]


async def test_a_busy_room_is_compacted_without_changing_its_text(
    settings: Settings, people: People, roles: RoleTable
) -> None:
    hub = make_hub(settings, roles, options=RoomOptions(linger=0.05, compact_after=10))
    with serve(hub, settings) as base:
        ada = await joined(f"{base}/{ROOM}", people.cookies["ada"])
        for n in range(40):
            ada.text.insert(len(ada.text), f"{n},")
            await asyncio.sleep(0.005)
        await settled(ada)
        text = str(ada.text)
        await ada.disconnect()

    assert stored_rows(settings) <= 11
    assert hub.stored_text(ROOM) == text


async def test_malformed_messages_close_the_connection(
    settings: Settings, people: People, roles: RoleTable
) -> None:
    from quanta.collab._ws import ConnectionClosed, WebSocketClient

    async def drain(socket: WebSocketClient) -> None:
        while True:
            await asyncio.wait_for(socket.recv(), timeout=5)

    hub = make_hub(settings, roles)
    with serve(hub, settings) as base:
        socket = await WebSocketClient.connect(f"{base}/{ROOM}", headers=[("cookie", people.cookies["ada"])])
        await socket.recv()  # the server's sync step 1
        await socket.send(b"\x00\x02\x05garbage-that-is-no-update")
        with pytest.raises(ConnectionClosed) as closed:
            await drain(socket)
        assert closed.value.code == 1002
        await socket.close()
