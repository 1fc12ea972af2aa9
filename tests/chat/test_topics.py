"""A room's broadcast topics: their names, and which room a topic is about (what the topic rule checks)."""

from __future__ import annotations

import pytest

from quanta.chat.live import presence_topic, room_of_topic, room_topic


def test_a_room_has_a_message_topic_and_a_presence_topic() -> None:
    assert room_topic("cr_abcdefghijkl") == "chat.cr_abcdefghijkl"
    assert presence_topic("cr_abcdefghijkl") == "chat.cr_abcdefghijkl.presence"


@pytest.mark.parametrize(
    ("topic", "room"),
    [
        ("chat.cr_abcdefghijkl", "cr_abcdefghijkl"),
        ("chat.cr_abcdefghijkl.presence", "cr_abcdefghijkl"),
        ("chat.", None),
        ("chat..presence", None),
        ("chat.cr_a.b", None),
        ("chat.cr_a.presence.presence", None),
        ("market.bars.1s.GOOG", None),
        ("paper.cr_abcdefghijkl", None),
    ],
)
def test_the_room_of_a_topic_is_found_only_in_chat_topics(topic: str, room: str | None) -> None:
    assert room_of_topic(topic) == room
