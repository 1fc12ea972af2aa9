"""The chat's REST routes (``/api/v1/chat``) on the app's API: rooms, history paging, posting, editing,
deleting, moderation, reports, notifications, presence — as the browser calls them, with its session
cookie."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.chat.conftest import Cast, ChatApp, Rooms

CHAT = "/api/v1/chat"


def say(app: ChatApp, client: TestClient, room: str, body: str) -> dict[str, Any]:
    """Post ``body`` (three seconds after the last post: within the rate limits) and return the message."""
    app.clock.advance(seconds=3)
    response = client.post(f"{CHAT}/rooms/{room}/messages", json={"body": body})
    assert response.status_code == 201, response.text
    message: dict[str, Any] = response.json()
    return message


def lobby_id(client: TestClient) -> str:
    response = client.post(f"{CHAT}/rooms", json={"kind": "lobby"})
    assert response.status_code == 200, response.text
    room: str = response.json()["id"]
    return room


def test_chat_routes_need_a_session_cookie(chat_app: ChatApp) -> None:
    response = chat_app.browser().get(f"{CHAT}/rooms")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_writes_from_another_site_are_refused(chat_app: ChatApp, cast: Cast) -> None:
    olga = chat_app.browser(cast.owner)
    room = lobby_id(olga)
    response = olga.post(
        f"{CHAT}/rooms/{room}/messages", json={"body": "hi"}, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403
    del olga.headers["Origin"]
    assert olga.post(f"{CHAT}/rooms/{room}/messages", json={"body": "hi"}).status_code == 403
    header = {"X-Requested-With": "quanta"}
    assert olga.post(f"{CHAT}/rooms/{room}/messages", json={"body": "hi"}, headers=header).status_code == 201


def test_my_rooms_list_the_lobby_my_strategy_rooms_and_my_conversations(
    chat_app: ChatApp, cast: Cast, rooms: Rooms
) -> None:
    listed = chat_app.browser(cast.editor).get(f"{CHAT}/rooms").json()
    kinds = {(room["kind"], room["title"]) for room in listed["items"]}
    assert {
        ("lobby", "Lobby"),
        ("strategy", "Breakout"),
        ("competition", "Spring Cup"),
        ("direct", "olga"),
    } <= kinds
    assert listed["unread_notifications"] == 0
    strangers = {
        room["kind"] for room in chat_app.browser(cast.stranger).get(f"{CHAT}/rooms").json()["items"]
    }
    assert strangers == {"lobby", "competition"}


def test_opening_rooms_by_kind_and_the_strangers_404(chat_app: ChatApp, cast: Cast, rooms: Rooms) -> None:
    eddie = chat_app.browser(cast.editor)
    strategy = {"kind": "strategy", "ref": rooms.private_strategy.public_id}
    assert eddie.post(f"{CHAT}/rooms", json=strategy).json()["id"] == rooms.strategy.public_id
    direct = eddie.post(f"{CHAT}/rooms", json={"kind": "direct", "username": "olga"}).json()
    assert direct["id"] == rooms.direct.public_id
    assert direct["title"] == "olga"
    competition = eddie.post(f"{CHAT}/rooms", json={"kind": "competition", "ref": "spring-cup-2026"}).json()
    assert competition["id"] == rooms.competition.public_id
    assert eddie.post(f"{CHAT}/rooms", json={"kind": "competition", "ref": "no-such-cup"}).status_code == 404
    sam = chat_app.browser(cast.stranger)
    assert sam.post(f"{CHAT}/rooms", json=strategy).status_code == 404
    assert sam.get(f"{CHAT}/rooms/{rooms.strategy.public_id}").status_code == 404
    assert sam.get(f"{CHAT}/rooms/{rooms.direct.public_id}/messages").status_code == 404


def test_history_pages_backwards_and_forwards_without_gaps(chat_app: ChatApp, cast: Cast) -> None:
    olga = chat_app.browser(cast.owner)
    room = lobby_id(olga)
    for n in range(1, 8):
        say(chat_app, olga, room, f"message {n}")
    newest = olga.get(f"{CHAT}/rooms/{room}/messages", params={"limit": 3}).json()
    assert [m["seq"] for m in newest["items"]] == [5, 6, 7]
    assert newest["room"]["last_seq"] == 7
    older = olga.get(f"{CHAT}/rooms/{room}/messages", params={"before": 5, "limit": 3}).json()["items"]
    assert [m["body"] for m in older] == ["message 2", "message 3", "message 4"]
    after = olga.get(f"{CHAT}/rooms/{room}/messages", params={"after": 4, "limit": 50}).json()["items"]
    assert [m["seq"] for m in after] == [5, 6, 7]


def test_changes_after_bring_back_posts_edits_and_deletions_since(chat_app: ChatApp, cast: Cast) -> None:
    olga = chat_app.browser(cast.owner)
    room = lobby_id(olga)
    say(chat_app, olga, room, "one")
    say(chat_app, olga, room, "two")
    held = olga.get(f"{CHAT}/rooms/{room}").json()["last_change"]
    chat_app.clock.advance(seconds=3)
    assert olga.patch(f"{CHAT}/rooms/{room}/messages/1", json={"body": "one, edited"}).status_code == 200
    assert olga.delete(f"{CHAT}/rooms/{room}/messages/2").json()["deleted"] is True
    say(chat_app, olga, room, "three")
    page = olga.get(f"{CHAT}/rooms/{room}/changes", params={"after": held}).json()
    assert [(m["seq"], m["body"], m["deleted"]) for m in page["items"]] == [
        (1, "one, edited", False),
        (2, "", True),
        (3, "three", False),
    ]
    assert page["last_change"] == held + 3


def test_posted_markdown_comes_back_sanitised(chat_app: ChatApp, cast: Cast) -> None:
    olga = chat_app.browser(cast.owner)
    room = lobby_id(olga)
    message = say(
        chat_app, olga, room, "<img src=x onerror=alert(1)> [x](javascript:alert(1)) <script>boom</script>"
    )
    assert "<img" not in message["html"]
    assert "<script" not in message["html"]
    assert "javascript:" not in message["html"].replace("[x](javascript:alert(1))", "")
    assert "&lt;img src=x onerror=alert(1)&gt;" in message["html"]


def test_only_authors_edit_and_only_moderators_delete_others_messages(
    chat_app: ChatApp, cast: Cast, rooms: Rooms
) -> None:
    eddie, vic, olga = (chat_app.browser(u) for u in (cast.editor, cast.viewer, cast.owner))
    room = rooms.strategy.public_id
    say(chat_app, eddie, room, "draft")
    assert vic.patch(f"{CHAT}/rooms/{room}/messages/1", json={"body": "mine now"}).status_code == 403
    assert vic.delete(f"{CHAT}/rooms/{room}/messages/1").status_code == 403
    removed = olga.delete(f"{CHAT}/rooms/{room}/messages/1").json()
    assert (removed["deleted"], removed["moderated"]) == (True, True)
    assert eddie.delete(f"{CHAT}/rooms/{room}/messages/9").status_code == 404


def test_posting_too_fast_is_a_429_that_says_when_to_retry(chat_app: ChatApp, cast: Cast) -> None:
    olga = chat_app.browser(cast.owner)
    room = lobby_id(olga)
    answers = [olga.post(f"{CHAT}/rooms/{room}/messages", json={"body": f"spam {n}"}) for n in range(6)]
    assert [a.status_code for a in answers] == [201] * 5 + [429]
    problem = answers[-1].json()
    assert problem["detail"].startswith("You are posting too fast. Try again in ")
    assert problem["retry_after"] >= 1
    assert answers[-1].headers["Retry-After"] == str(problem["retry_after"])


def test_moderators_mute_and_ban_and_the_muted_are_told_until_when(
    chat_app: ChatApp, cast: Cast, rooms: Rooms
) -> None:
    olga, vic = chat_app.browser(cast.owner), chat_app.browser(cast.viewer)
    room = rooms.strategy.public_id
    assert (
        vic.post(f"{CHAT}/rooms/{room}/restrictions", json={"username": "eddie", "kind": "mute"}).status_code
        == 403
    )
    muted = olga.post(
        f"{CHAT}/rooms/{room}/restrictions", json={"username": "vic", "kind": "mute", "minutes": 10}
    )
    assert muted.status_code == 201, muted.text
    refused = vic.post(f"{CHAT}/rooms/{room}/messages", json={"body": "hello?"})
    assert refused.status_code == 403
    assert refused.json()["detail"].startswith("You are muted in this room until ")
    assert not vic.get(f"{CHAT}/rooms/{room}").json()["can_post"]
    assert [r["username"] for r in olga.get(f"{CHAT}/rooms/{room}/restrictions").json()] == ["vic"]
    assert olga.delete(f"{CHAT}/rooms/{room}/restrictions/mute/vic").status_code == 204
    assert olga.delete(f"{CHAT}/rooms/{room}/restrictions/mute/vic").status_code == 404
    say(chat_app, vic, room, "back")
    banned = olga.post(f"{CHAT}/rooms/{room}/restrictions", json={"username": "vic", "kind": "ban"})
    assert banned.json()["until"] is None
    assert vic.get(f"{CHAT}/rooms/{room}/messages").status_code == 404


def test_a_report_reaches_the_moderator_who_removes_the_message(
    chat_app: ChatApp, cast: Cast, rooms: Rooms
) -> None:
    eddie, vic, olga = (chat_app.browser(u) for u in (cast.editor, cast.viewer, cast.owner))
    room = rooms.strategy.public_id
    say(chat_app, eddie, room, "rude words")
    report = vic.post(f"{CHAT}/rooms/{room}/messages/1/report", json={"reason": "rude"})
    assert report.status_code == 201, report.text
    assert vic.post(f"{CHAT}/rooms/{room}/messages/1/report", json={"reason": "again"}).status_code == 409
    assert vic.get(f"{CHAT}/reports").json() == []
    listed = olga.get(f"{CHAT}/reports", params={"room": room}).json()
    assert [(r["reason"], r["message"]["body"]) for r in listed] == [("rude", "rude words")]
    assert olga.post(f"{CHAT}/reports/{listed[0]['id']}/resolve", json={"remove": True}).status_code == 204
    assert olga.get(f"{CHAT}/reports").json() == []
    message = olga.get(f"{CHAT}/rooms/{room}/messages").json()["items"][0]
    assert (message["deleted"], message["moderated"]) == (True, True)


def test_a_mention_notifies_until_it_is_marked_read(chat_app: ChatApp, cast: Cast, rooms: Rooms) -> None:
    olga, eddie = chat_app.browser(cast.owner), chat_app.browser(cast.editor)
    room = rooms.strategy.public_id
    say(chat_app, olga, room, "@eddie can you look at the stops?")
    listed = eddie.get(f"{CHAT}/notifications").json()
    assert listed["unread"] == 1
    assert [(n["room"], n["seq"], n["author"], n["read"]) for n in listed["items"]] == [
        (room, 1, "olga", False)
    ]
    here = eddie.post(f"{CHAT}/rooms/{room}/presence", json={"state": "here"}).json()
    assert here == {"unread_notifications": 1}
    assert eddie.post(f"{CHAT}/notifications/read", json={"ids": None}).json() == {"count": 1}
    assert eddie.get(f"{CHAT}/rooms").json()["unread_notifications"] == 0


@pytest.mark.parametrize(
    ("body", "status"),
    [({"body": ""}, 422), ({"body": "x" * 4001}, 422), ({"body": "ok", "extra": 1}, 422), ({}, 422)],
)
def test_malformed_posts_are_422(chat_app: ChatApp, cast: Cast, body: dict[str, Any], status: int) -> None:
    olga = chat_app.browser(cast.owner)
    assert olga.post(f"{CHAT}/rooms/{lobby_id(olga)}/messages", json=body).status_code == status
