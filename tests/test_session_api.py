"""The session cookie's endpoints (``quanta_app.session_api``): cookie attributes, CSRF refusal, sign-out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from quanta import db
from quanta.accounts import service
from quanta.accounts.models import UserCreate
from quanta.settings import get_settings
from quanta_app.session_api import router

EMAIL = "ada@example.com"
PASSWORD = "Sunlit-Orchard-Ledger-93"
SITE = "http://testserver"


def _client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> Iterator[TestClient]:
    monkeypatch.setenv("QUANTA_VAR_DIR", str(tmp_path))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    db.migrate()
    with db.session() as unit:
        service.sign_up(session=unit, user_in=UserCreate(email=EMAIL, password=PASSWORD))
    api = FastAPI()
    api.include_router(router)
    yield TestClient(api, base_url=SITE)
    db.dispose_engines()
    get_settings.cache_clear()


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The session endpoints in development, with one account."""
    yield from _client(tmp_path, monkeypatch)


@pytest.fixture
def production_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The session endpoints with QUANTA_ENV=production."""
    yield from _client(
        tmp_path, monkeypatch, QUANTA_ENV="production", QUANTA_SECRET_KEY="k" * 16 + "x7Qp2Lm9Zr4Tb8Wc"
    )


def _sign_in(client: TestClient, password: str = PASSWORD, origin: str = SITE) -> object:
    return client.post(
        "/api/session", json={"email": EMAIL, "password": password}, headers={"Origin": origin}
    )


def test_sign_in_sets_an_http_only_same_site_cookie_and_who_am_i_answers(client: TestClient) -> None:
    response = _sign_in(client)

    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("quanta_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Path=/" in cookie
    assert "Secure" not in cookie
    assert client.get("/api/session").json()["email"] == EMAIL


def test_outside_development_the_cookie_is_secure_and_host_prefixed(production_client: TestClient) -> None:
    response = _sign_in(production_client)

    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-quanta_session=")
    assert "Secure" in cookie


def test_wrong_password_is_a_generic_problem(client: TestClient) -> None:
    response = _sign_in(client, password="Not-The-Right-One-17")

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "Incorrect email or password."
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize("origin", ["https://evil.example", "null", ""])
def test_sign_in_from_another_origin_is_refused(client: TestClient, origin: str) -> None:
    response = _sign_in(client, origin=origin)

    assert response.status_code == 403
    assert "set-cookie" not in response.headers


def test_the_public_url_is_an_accepted_origin(client: TestClient) -> None:
    assert _sign_in(client, origin="http://localhost:3000").status_code == 200


def test_sign_out_ends_the_session_and_clears_the_cookie(client: TestClient) -> None:
    _sign_in(client)

    response = client.delete("/api/session", headers={"Origin": SITE})

    assert response.status_code == 204
    assert 'quanta_session=""' in response.headers["set-cookie"]
    assert client.get("/api/session", headers={"Cookie": "quanta_session=gone"}).status_code == 401


def test_changing_the_password_swaps_the_cookie(client: TestClient) -> None:
    _sign_in(client)
    old = client.cookies["quanta_session"]

    response = client.post(
        "/api/session/password",
        json={"current_password": PASSWORD, "new_password": "Amber-Valley-Compass-71"},
        headers={"Origin": SITE},
    )

    assert response.status_code == 204
    assert client.cookies["quanta_session"] != old
    assert client.get("/api/session").status_code == 200
    assert client.get("/api/session", headers={"Cookie": f"quanta_session={old}"}).status_code == 401


def test_a_weak_new_password_lists_the_rules_it_breaks(client: TestClient) -> None:
    _sign_in(client)

    response = client.post(
        "/api/session/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers={"Origin": SITE},
    )

    assert response.status_code == 422
    assert "Use at least 12 characters." in response.json()["problems"]
