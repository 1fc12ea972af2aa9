"""Several app workers: two room servers in this process share rooms through a real Redis."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from quanta import db
from quanta.collab._relay import CHANNEL_PREFIX, Kind, decode, encode, read_reply, reply_body
from quanta.settings import Settings
from tests.collab.conftest import ROOM, People, RoleTable, eventually, joined, make_hub, serve, stored_rows

pytestmark = [pytest.mark.anyio, pytest.mark.redis]

WATCHER = "collab-test-watcher"


async def test_clients_on_two_workers_edit_one_document(
    settings: Settings, people: People, roles: RoleTable, redis_url: str
) -> None:
    one = make_hub(settings, roles, relay_url=redis_url)
    two = make_hub(settings, roles, relay_url=redis_url)
    with serve(one, settings) as first, serve(two, settings) as second:
        ada = await joined(f"{first}/{ROOM}", people.cookies["ada"], name="Ada")
        bob = await joined(f"{second}/{ROOM}", people.cookies["bob"], name="Bob")
        vic = await joined(f"{second}/{ROOM}", people.cookies["vic"], name="Vic")

        ada.text.insert(0, "a = 1\n")
        await eventually(lambda: str(bob.text) == "a = 1\n", what="Bob, on the other worker, sees Ada's edit")
        for n in range(3):
            bob.text.insert(len(bob.text), f"b{n} = {n}\n")
        ada.text.insert(0, "# top\n")
        expected = "# top\na = 1\nb0 = 0\nb1 = 1\nb2 = 2\n"
        await eventually(
            lambda: str(ada.text) == str(bob.text) == str(vic.text) == expected, what="all converge"
        )
        await eventually(
            lambda: {p["name"] for p in ada.peers} == {"Bob", "Vic"}, what="Ada sees presence across workers"
        )

        vic.text.insert(0, "viewer edit\n")
        ada.text.insert(len(ada.text), "# end\n")
        await eventually(lambda: str(vic.text).endswith("# end\n") and str(bob.text).endswith("# end\n"))
        assert "viewer edit" not in str(bob.text)
        assert "viewer edit" not in str(ada.text)
        for client in (ada, bob, vic):
            await client.disconnect()
        await eventually(lambda: stored_rows(settings) == 6, what="each edit stored once")
    assert one.stored_text(ROOM) == expected + "# end\n"


async def test_a_worker_that_opens_a_room_late_catches_up_through_redis(
    settings: Settings, people: People, roles: RoleTable, redis_url: str, tmp_path: Path
) -> None:
    # The second worker reads another (empty) database, so it can only learn the text from the first.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copyfile(tmp_path / "quanta.db", elsewhere / "quanta.db")
    other = Settings(var_dir=elsewhere)
    one = make_hub(settings, roles, relay_url=redis_url)
    two = make_hub(other, roles, relay_url=redis_url)
    with serve(one, settings) as first, serve(two, other) as second:
        ada = await joined(f"{first}/{ROOM}", people.cookies["ada"])
        ada.text.insert(0, "written before the second worker opened the room\n")
        await eventually(lambda: stored_rows(settings) == 1)

        bob = await joined(f"{second}/{ROOM}", people.cookies["bob"])
        await eventually(lambda: str(bob.text) == str(ada.text), what="the late worker catches up")
        bob.text.insert(0, "# from bob\n")
        await eventually(lambda: str(ada.text).startswith("# from bob\n"))
        await ada.disconnect()
        await bob.disconnect()
    db.dispose_engines()


async def test_after_losing_redis_a_worker_asks_again_for_what_it_missed(
    settings: Settings, people: People, roles: RoleTable, redis_url: str
) -> None:
    one = make_hub(settings, roles, relay_url=redis_url)
    two = make_hub(settings, roles, relay_url=redis_url)
    with serve(one, settings) as first, serve(two, settings) as second:
        ada = await joined(f"{first}/{ROOM}", people.cookies["ada"])
        bob = await joined(f"{second}/{ROOM}", people.cookies["bob"])
        async with (
            aioredis.Redis.from_url(redis_url, client_name=WATCHER) as watcher,
            watcher.pubsub() as pubsub,
        ):
            await pubsub.psubscribe(f"{CHANNEL_PREFIX}*")
            await pubsub.get_message(timeout=1.0)  # the subscription's confirmation
            for client in await watcher.client_list(_type="pubsub"):
                if client["name"] != WATCHER:  # each worker loses its subscription
                    await watcher.client_kill_filter(_id=client["id"])
            queries = await _queries(pubsub, count=2)
            ada.text.insert(0, "typed after Redis came back\n")
            await eventually(lambda: str(bob.text) == "typed after Redis came back\n")
        await ada.disconnect()
        await bob.disconnect()
    assert queries == 2


async def _queries(pubsub: Any, *, count: int, timeout: float = 10.0) -> int:
    """Wait for ``count`` room queries (``Q``) on the relay; how many came within ``timeout``."""
    seen = 0
    deadline = asyncio.get_running_loop().time() + timeout
    while seen < count and asyncio.get_running_loop().time() < deadline:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
        if message is not None and decode(message["data"]).kind is Kind.QUERY:
            seen += 1
    return seen


def test_relay_messages_round_trip() -> None:
    sender, target = b"s" * 16, b"t" * 16

    relayed = decode(encode(Kind.QUERY, sender, b"\x00"))
    reply = decode(encode(Kind.REPLY, sender, reply_body(target, b"\x01\x02", b"\x00\x00")))

    assert (relayed.kind, relayed.sender, relayed.body) == (Kind.QUERY, sender, b"\x00")
    assert read_reply(reply.body) == (target, b"\x01\x02", b"\x00\x00")
    with pytest.raises(ValueError, match="X"):
        decode(b"X" + sender)
