"""``/api/v1/strategies`` through the served app: the workspace end to end, scopes, the 404/403 rule, and
problem responses (SQLite; the core flow also on PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from quanta.testing.clock import FakeClock
from tests.api.conftest import bearer, client_token, make_org, make_pat, register_client
from tests.workspace.conftest import BACKENDS, SOURCE, People

READ_WRITE = ["strategies:read", "strategies:write"]
EDITED = SOURCE.replace("window = 20", "window = 55")


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


@pytest.fixture
def tokens(unit: Session, clock: FakeClock, people: People) -> dict[str, dict[str, str]]:
    """Bearer headers of the owner, editor, viewer and stranger, with read and write scopes."""
    return {
        name: bearer(make_pat(unit, clock, getattr(people, name), scopes=READ_WRITE))
        for name in ("owner", "editor", "viewer", "stranger")
    }


def create(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    answer: dict[str, Any] = ok(
        client.post(
            "/api/v1/strategies", json={"title": "Breakout", "source": SOURCE} | body, headers=headers
        ),
        201,
    )
    return answer


def share(client: TestClient, tokens: dict[str, dict[str, str]], strategy_id: str) -> None:
    url = f"/api/v1/strategies/{strategy_id}/collaborators"
    ok(client.post(url, json={"username": "eddie", "role": "editor"}, headers=tokens["owner"]), 201)
    ok(client.post(url, json={"username": "vic"}, headers=tokens["owner"]), 201)


@pytest.mark.parametrize("app_database", BACKENDS, indirect=True)
def test_a_strategy_from_creation_to_fork(client: TestClient, tokens: dict[str, dict[str, str]]) -> None:
    created = create(client, tokens["owner"], tags=["trend"], message="First")
    sid = created["id"]
    url = f"/api/v1/strategies/{sid}"
    share(client, tokens, sid)

    saved = ok(
        client.post(f"{url}/versions", json={"source": EDITED, "message": "Wider"}, headers=tokens["editor"]),
        201,
    )
    diff = ok(client.get(f"{url}/diff?old=1&new=2&context=0", headers=tokens["viewer"]))
    restored = ok(client.post(f"{url}/versions/1/restore", headers=tokens["editor"]), 201)
    versions = ok(client.get(f"{url}/versions?limit=2", headers=tokens["owner"]))
    ok(client.patch(url, json={"visibility": "public"}, headers=tokens["owner"]))
    fork = ok(
        client.post(f"{url}/forks", json={"version": 2, "title": "My breakout"}, headers=tokens["stranger"]),
        201,
    )
    star = ok(client.put(f"{url}/star", headers=tokens["stranger"]))
    detail = ok(client.get(url, headers=tokens["stranger"]))
    lineage = ok(client.get(f"/api/v1/strategies/{fork['id']}/lineage", headers=tokens["stranger"]))

    assert (created["owner"], created["visibility"], created["role"], created["code"]) == (
        "olga",
        "private",
        "owner",
        SOURCE,
    )
    assert (saved["number"], saved["author"], saved["source"]) == (2, "eddie", EDITED)
    assert diff["unified"] == "--- v1\n+++ v2\n@@ -5 +5 @@\n-    window = 20\n+    window = 55\n"
    assert [line["kind"] for line in diff["hunks"][0]["lines"]] == ["remove", "add"]
    assert (restored["number"], restored["restored_from"], restored["source"]) == (3, 1, SOURCE)
    assert [v["number"] for v in versions["items"]] == [3, 2]
    assert "source" not in versions["items"][0]
    assert versions["next_cursor"] is not None
    assert (fork["owner"], fork["title"], fork["visibility"], fork["code"]) == (
        "sam",
        "My breakout",
        "private",
        EDITED,
    )
    assert fork["forked_from"] == {"id": sid, "title": "Breakout", "owner": "olga", "version": 2}
    assert star == {"starred": True, "star_count": 1}
    assert (detail["fork_count"], detail["star_count"], detail["starred"], detail["role"]) == (
        1,
        1,
        True,
        "viewer",
    )
    assert [(a["id"], a["version"]) for a in lineage["ancestors"]] == [(sid, 2)]


def test_the_next_page_of_versions_follows_the_link(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    sid = create(client, tokens["owner"])["id"]
    for n in range(2, 5):
        ok(
            client.post(
                f"/api/v1/strategies/{sid}/versions",
                json={"source": SOURCE + "#" * n},
                headers=tokens["owner"],
            ),
            201,
        )

    first = client.get(f"/api/v1/strategies/{sid}/versions?limit=3", headers=tokens["owner"])
    second = ok(client.get(first.links["next"]["url"], headers=tokens["owner"]))

    assert [v["number"] for v in first.json()["items"]] == [4, 3, 2]
    assert ([v["number"] for v in second["items"]], second["next_cursor"]) == ([1], None)


def test_private_strategies_are_404_to_strangers_and_403_for_viewers_writing(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    sid = create(client, tokens["owner"])["id"]
    url = f"/api/v1/strategies/{sid}"
    share(client, tokens, sid)
    writes = [
        ("PATCH", url, {"title": "Mine now"}),
        ("POST", f"{url}/versions", {"source": EDITED}),
        ("POST", f"{url}/versions/1/restore", None),
        ("POST", f"{url}/collaborators", {"username": "sam"}),
        ("DELETE", url, None),
    ]

    for method, path, body in writes:
        stranger = client.request(method, path, json=body, headers=tokens["stranger"])
        viewer = client.request(method, path, json=body, headers=tokens["viewer"])
        assert (stranger.status_code, viewer.status_code) == (404, 403), (method, path)
        assert viewer.json()["type"] == "/api/problems/forbidden"
    for path in (
        url,
        f"{url}/versions",
        f"{url}/versions/1",
        f"{url}/lineage",
        f"{url}/collaborators",
        f"{url}/forks",
    ):
        assert client.get(path, headers=tokens["stranger"]).status_code == 404, path
        assert client.get(path, headers=tokens["viewer"]).status_code == 200, path
    assert client.get("/api/v1/strategies/st_nosuchthing1", headers=tokens["owner"]).json()["status"] == 404


def test_scopes_are_needed_and_clients_act_for_no_one(
    client: TestClient, unit: Session, clock: FakeClock, people: People, tokens: dict[str, dict[str, str]]
) -> None:
    public = create(client, tokens["owner"], visibility="public")["id"]
    private = create(client, tokens["owner"], title="Private")["id"]
    read_only = bearer(make_pat(unit, clock, people.stranger, scopes=["strategies:read"]))
    market_only = bearer(make_pat(unit, clock, people.stranger, scopes=["market:read"]))
    robot = register_client(unit, clock, people.owner, make_org(unit, clock, people.owner), scopes=READ_WRITE)
    machine = bearer(client_token(client, robot))

    refused = client.post("/api/v1/strategies", json={"title": "Nope"}, headers=read_only)
    assert refused.status_code == 403
    assert refused.json()["missing_scopes"] == ["strategies:write"]
    assert client.get(f"/api/v1/strategies/{public}", headers=market_only).json()["missing_scopes"] == [
        "strategies:read"
    ]
    assert client.get("/api/v1/strategies", headers=market_only).status_code == 200  # the bundled examples
    assert ok(client.get(f"/api/v1/strategies/{public}", headers=machine))["role"] == "viewer"
    assert client.get(f"/api/v1/strategies/{private}", headers=machine).status_code == 404
    assert client.post("/api/v1/strategies", json={"title": "Robot's"}, headers=machine).status_code == 403
    assert client.put(f"/api/v1/strategies/{public}/star", headers=machine).status_code == 403
    assert client.get("/api/v1/strategies?source=own", headers=machine).status_code == 403


def test_the_gallery_and_own_lists(client: TestClient, tokens: dict[str, dict[str, str]]) -> None:
    create(
        client,
        tokens["owner"],
        title="Golden cross",
        visibility="public",
        tags=["trend"],
        description="SMA 50/200",
    )
    rsi = create(client, tokens["owner"], title="RSI dip", visibility="public", tags=["mean-reversion"])
    create(client, tokens["stranger"], title="Sam's cross", visibility="public", tags=["trend"])
    create(client, tokens["owner"], title="Private cross")
    ok(client.put(f"/api/v1/strategies/{rsi['id']}/star", headers=tokens["viewer"]))

    def titles(query: str, who: str = "viewer") -> list[str]:
        return [
            s["title"] for s in ok(client.get(f"/api/v1/strategies?{query}", headers=tokens[who]))["items"]
        ]

    assert titles("source=public&sort=stars") == ["RSI dip", "Sam's cross", "Golden cross"]
    assert titles("source=public&q=cross&sort=recent") == ["Sam's cross", "Golden cross"]
    assert titles("source=public&tag=trend&author=olga") == ["Golden cross"]
    assert titles("source=public&q=sma") == ["Golden cross"]
    assert titles("source=own", who="owner") == ["Private cross", "RSI dip", "Golden cross"]
    assert titles("source=shared", who="owner") == []
    page = client.get("/api/v1/strategies?source=public&sort=recent&limit=2", headers=tokens["viewer"])
    assert 'rel="next"' in page.headers["link"]
    bad = client.get("/api/v1/strategies?source=public&tag=not%20a%20tag", headers=tokens["viewer"])
    assert (bad.status_code, bad.json()["errors"][0]["location"]) == (422, "tag")


def test_a_syntax_error_is_a_validation_problem_naming_line_and_column(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    sid = create(client, tokens["owner"])["id"]

    answer = client.post(
        f"/api/v1/strategies/{sid}/versions", json={"source": "def f(:\n    pass\n"}, headers=tokens["owner"]
    )
    same = client.post(f"/api/v1/strategies/{sid}/versions", json={"source": SOURCE}, headers=tokens["owner"])

    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["errors"] == [{"location": "source", "message": "Line 1, column 7: invalid syntax."}]
    assert (same.status_code, same.json()["type"]) == (409, "/api/problems/conflict")


def test_collaborators_are_managed_by_username(client: TestClient, tokens: dict[str, dict[str, str]]) -> None:
    sid = create(client, tokens["owner"])["id"]
    url = f"/api/v1/strategies/{sid}/collaborators"
    share(client, tokens, sid)

    promoted = ok(client.patch(f"{url}/vic", json={"role": "editor"}, headers=tokens["owner"]))
    ok(client.delete(f"{url}/eddie", headers=tokens["owner"]), 204)
    again = client.post(url, json={"username": "vic"}, headers=tokens["owner"])
    unknown = client.post(url, json={"username": "nobody-here"}, headers=tokens["owner"])
    listed = ok(client.get(url, headers=tokens["viewer"]))

    assert (promoted["username"], promoted["role"]) == ("vic", "editor")
    assert [(c["username"], c["role"]) for c in listed["items"]] == [("vic", "editor")]
    assert (again.status_code, unknown.status_code) == (409, 404)
    assert client.get(f"/api/v1/strategies/{sid}", headers=tokens["editor"]).status_code == 404
    ok(client.delete(f"{url}/vic", headers=tokens["viewer"]), 204)  # vic leaves
    assert client.get(f"/api/v1/strategies/{sid}", headers=tokens["viewer"]).status_code == 404


def test_unstarring_and_deleting(client: TestClient, tokens: dict[str, dict[str, str]]) -> None:
    sid = create(client, tokens["owner"], visibility="public")["id"]
    url = f"/api/v1/strategies/{sid}"
    ok(client.put(f"{url}/star", headers=tokens["stranger"]))
    ok(client.put(f"{url}/star", headers=tokens["stranger"]))
    ok(client.patch(url, json={"visibility": "private"}, headers=tokens["owner"]))

    unstarred = ok(client.delete(f"{url}/star", headers=tokens["stranger"]))
    ok(client.delete(url, headers=tokens["owner"]), 204)

    assert unstarred == {"starred": False, "star_count": 0}
    assert client.get(url, headers=tokens["owner"]).status_code == 404
