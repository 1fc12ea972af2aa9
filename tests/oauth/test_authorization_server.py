"""Quanta's OAuth 2 authorization server: client credentials, authorization code with PKCE and consent,
refresh token rotation and reuse detection, revocation, introspection, signing-key rotation."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlmodel import Session

from quanta.accounts.models import User
from quanta.oauth.service import retire_signing_key, rotate_signing_key
from quanta.settings import Settings
from quanta.testing.clock import FakeClock
from tests.api.conftest import (
    BACKENDS,
    Registered,
    bearer,
    client_token,
    make_org,
    make_user,
    register_client,
    sign_in_browser,
)

REDIRECT = "https://app.example/callback"
ORIGIN = {"Origin": "http://testserver"}


@dataclass
class World:
    person: User
    app: Registered
    robot: Registered


@pytest.fixture
def world(client: TestClient, unit: Session, clock: FakeClock) -> World:
    """A person signed in to the browser, a third-party app (code + refresh) and a server-side robot."""
    owner = make_user(unit, clock, "owner@vendor.example")
    org = make_org(unit, clock, owner, "Vendor")
    app = register_client(
        unit,
        clock,
        owner,
        org,
        name="Charting app",
        scopes=["market:read", "backtests:read", "profile:read"],
        grant_types=["authorization_code", "refresh_token"],
        redirect_uris=[REDIRECT],
    )
    robot = register_client(unit, clock, owner, org, name="Robot", scopes=["market:read"])
    person = make_user(unit, clock, "ada@example.com")
    sign_in_browser(client, unit, clock, person)
    return World(person=person, app=app, robot=robot)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, create_s256_code_challenge(verifier)


def authorize(client: TestClient, app: Registered, challenge: str | None, **params: str) -> httpx.Response:
    query = {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": REDIRECT,
        "scope": "market:read backtests:read",
        "state": "state-123",
    }
    if challenge is not None:
        query |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    return client.get(f"/api/oauth/authorize?{urlencode(query | params)}")


def query_of(location: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


def consent_request(client: TestClient, app: Registered, challenge: str, **params: str) -> str:
    """The sealed request the consent page gets."""
    response = authorize(client, app, challenge, **params)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith("http://testserver/oauth/consent?request=")
    return query_of(location)["request"]


def approve(client: TestClient, request_token: str, decision: str = "approve") -> dict[str, str]:
    response = client.post(
        "/api/oauth/authorize/decision", data={"request": request_token, "decision": decision}, headers=ORIGIN
    )
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return query_of(location)


def code_for(client: TestClient, app: Registered, verifier_challenge: tuple[str, str], **params: str) -> str:
    return approve(client, consent_request(client, app, verifier_challenge[1], **params))["code"]


def exchange(
    client: TestClient, app: Registered, code: str, verifier: str, change: dict[str, str] | None = None
) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "redirect_uri": REDIRECT,
    }
    return client.post("/api/oauth/token", data=form | (change or {}), headers=app.basic())


def refresh(client: TestClient, app: Registered, token: str, **extra: str) -> httpx.Response:
    return client.post(
        "/api/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": token} | extra,
        headers=app.basic(),
    )


def api_status(client: TestClient, token: str) -> int:
    return client.get("/api/v1/instruments?limit=1", headers=bearer(token)).status_code


def tokens_by_code(client: TestClient, world: World) -> dict[str, Any]:
    verifier, challenge = pkce()
    code = code_for(client, world.app, (verifier, challenge))
    response = exchange(client, world.app, code, verifier)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# ---- authorization code with PKCE and consent ----------------------------------------------------------


@pytest.mark.parametrize("app_database", BACKENDS, indirect=True)
def test_an_app_acts_for_a_person_after_consent(client: TestClient, world: World) -> None:
    verifier, challenge = pkce()
    request_token = consent_request(
        client, world.app, challenge, scope="market:read backtests:read backtests:run"
    )
    shown = client.get("/api/oauth/authorize/request", params={"request": request_token}).json()
    assert shown["client"]["name"] == "Charting app"
    assert shown["organization"]["slug"] == "vendor"
    assert [s["name"] for s in shown["scopes"]] == [
        "market:read",
        "backtests:read",
    ]  # backtests:run not allowed
    assert shown["user_email"] == "ada@example.com"

    answer = approve(client, request_token)
    assert answer["state"] == "state-123"
    assert answer["iss"] == "http://testserver"
    tokens = exchange(client, world.app, answer["code"], verifier)

    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "market:read backtests:read"
    assert body["refresh_token"].startswith("qnt_rt_")
    assert tokens.headers["cache-control"] == "no-store"
    claims = jwt.decode(
        body["access_token"], KeySet.import_key_set(client.get("/api/oauth/jwks").json())
    ).claims
    assert claims["sub"] == str(world.person.id)
    assert claims["client_id"] == world.app.client_id
    assert claims["aud"] == "http://testserver/api"
    assert api_status(client, body["access_token"]) == 200


def test_a_person_who_denies_sends_the_app_access_denied(client: TestClient, world: World) -> None:
    _, challenge = pkce()

    answer = approve(client, consent_request(client, world.app, challenge), decision="deny")

    assert answer["error"] == "access_denied"
    assert answer["state"] == "state-123"
    assert "code" not in answer


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "market:read telepathy"}, "invalid_scope"),
        ({"scope": "org:admin"}, "invalid_scope"),
    ],
)
def test_a_bad_authorization_request_goes_back_to_the_app(
    client: TestClient, world: World, params: dict[str, str], error: str
) -> None:
    _, challenge = pkce()

    response = authorize(client, world.app, challenge, **params)

    assert response.status_code == 302
    answer = query_of(response.headers["location"])
    assert response.headers["location"].startswith(REDIRECT)
    assert answer["error"] == error
    assert answer["state"] == "state-123"


def test_pkce_is_required(client: TestClient, world: World) -> None:
    response = authorize(client, world.app, None)

    assert query_of(response.headers["location"])["error"] == "invalid_request"


def test_a_client_that_may_not_use_the_code_flow_is_told_so(client: TestClient, world: World) -> None:
    robot = Registered(world.robot.client, world.robot.client_id, world.robot.secret)
    _, challenge = pkce()

    response = authorize(client, robot, challenge, redirect_uri=REDIRECT)

    assert response.status_code == 400  # the robot registered no redirect URI: never redirect
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "params", [{"client_id": "qnt_ci_unknown"}, {"redirect_uri": "https://evil.example/callback"}]
)
def test_an_untrusted_redirect_is_never_followed(
    client: TestClient, world: World, params: dict[str, str]
) -> None:
    _, challenge = pkce()

    response = authorize(client, world.app, challenge, **params)

    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "location" not in response.headers


def test_the_decision_needs_a_signed_in_person(client: TestClient, world: World) -> None:
    _, challenge = pkce()
    request_token = consent_request(client, world.app, challenge)
    client.cookies.clear()

    response = client.post(
        "/api/oauth/authorize/decision",
        data={"request": request_token, "decision": "approve"},
        headers=ORIGIN,
    )

    assert response.status_code == 401


def test_the_decision_refuses_cross_site_requests(client: TestClient, world: World) -> None:
    _, challenge = pkce()
    request_token = consent_request(client, world.app, challenge)
    data = {"request": request_token, "decision": "approve"}

    assert (
        client.post(
            "/api/oauth/authorize/decision", data=data, headers={"Origin": "https://evil.example"}
        ).status_code
        == 403
    )
    assert client.post("/api/oauth/authorize/decision", data=data).status_code == 403  # no Origin, no token
    assert (
        client.post("/api/oauth/authorize/decision", data=data | {"csrf_token": "forged"}).status_code == 403
    )


def test_the_decision_accepts_the_consent_pages_csrf_token(client: TestClient, world: World) -> None:
    _, challenge = pkce()
    request_token = consent_request(client, world.app, challenge)
    csrf = client.get("/api/oauth/authorize/request", params={"request": request_token}).json()["csrf_token"]

    response = client.post(
        "/api/oauth/authorize/decision",
        data={"request": request_token, "decision": "approve", "csrf_token": csrf},
        headers={"Accept": "application/json"},
    )

    assert response.status_code == 200
    assert "code=" in response.json()["redirect_to"]


def test_a_forged_or_stale_consent_request_is_refused(
    client: TestClient, world: World, clock: FakeClock
) -> None:
    _, challenge = pkce()
    request_token = consent_request(client, world.app, challenge)

    assert (
        client.get(
            "/api/oauth/authorize/request", params={"request": request_token[:-4] + "AAAA"}
        ).status_code
        == 400
    )
    clock.advance(minutes=11)
    assert client.get("/api/oauth/authorize/request", params={"request": request_token}).status_code == 400


# ---- code exchange --------------------------------------------------------------------------------------


@pytest.mark.parametrize("app_database", BACKENDS, indirect=True)
def test_a_replayed_code_is_refused_and_revokes_its_tokens(client: TestClient, world: World) -> None:
    verifier, challenge = pkce()
    code = code_for(client, world.app, (verifier, challenge))
    first = exchange(client, world.app, code, verifier).json()

    replay = exchange(client, world.app, code, verifier)

    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert replay.headers["content-type"] == "application/json"
    assert api_status(client, first["access_token"]) == 401
    assert refresh(client, world.app, first["refresh_token"]).json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "change",
    [{"code_verifier": "x" * 43}, {"redirect_uri": "https://app.example/other"}, {"code": "qnt_ac_nope"}],
)
def test_a_code_exchange_that_does_not_match_is_invalid_grant(
    client: TestClient, world: World, change: dict[str, str]
) -> None:
    verifier, challenge = pkce()
    code = code_for(client, world.app, (verifier, challenge))

    response = exchange(client, world.app, code, verifier, change)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_a_code_expires_within_a_minute(client: TestClient, world: World, clock: FakeClock) -> None:
    verifier, challenge = pkce()
    code = code_for(client, world.app, (verifier, challenge))
    clock.advance(seconds=61)

    assert exchange(client, world.app, code, verifier).json()["error"] == "invalid_grant"


def test_a_code_of_another_client_is_invalid_grant(
    client: TestClient, world: World, unit: Session, clock: FakeClock
) -> None:
    verifier, challenge = pkce()
    code = code_for(client, world.app, (verifier, challenge))
    owner = make_user(unit, clock, "other@vendor.example")
    rival = register_client(
        unit,
        clock,
        owner,
        make_org(unit, clock, owner, "Rival"),
        grant_types=["authorization_code"],
        redirect_uris=[REDIRECT],
    )

    assert exchange(client, rival, code, verifier).json()["error"] == "invalid_grant"


# ---- refresh tokens --------------------------------------------------------------------------------------


@pytest.mark.parametrize("app_database", BACKENDS, indirect=True)
def test_refresh_tokens_rotate_and_a_reused_one_revokes_the_family(client: TestClient, world: World) -> None:
    first = tokens_by_code(client, world)
    second = refresh(client, world.app, first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    third = refresh(client, world.app, second["refresh_token"]).json()
    assert api_status(client, third["access_token"]) == 200

    reuse = refresh(client, world.app, first["refresh_token"])  # a leaked, rotated token comes back

    assert reuse.status_code == 400
    assert reuse.json()["error"] == "invalid_grant"
    assert api_status(client, third["access_token"]) == 401
    assert api_status(client, first["access_token"]) == 401
    assert refresh(client, world.app, third["refresh_token"]).json()["error"] == "invalid_grant"


def test_a_refresh_may_narrow_the_scope_but_not_widen_it(client: TestClient, world: World) -> None:
    first = tokens_by_code(client, world)

    narrowed = refresh(client, world.app, first["refresh_token"], scope="market:read").json()
    widened = refresh(client, world.app, narrowed["refresh_token"], scope="profile:read")

    assert narrowed["scope"] == "market:read"
    assert widened.json()["error"] == "invalid_scope"
    assert (
        refresh(client, world.app, narrowed["refresh_token"]).status_code == 200
    )  # still usable after the error


def test_an_access_token_expires(client: TestClient, world: World, clock: FakeClock) -> None:
    token = tokens_by_code(client, world)["access_token"]
    clock.advance(minutes=16)

    response = client.get("/api/v1/instruments", headers=bearer(token))

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


# ---- client credentials and client authentication ----------------------------------------------------


def test_client_credentials_can_post_their_secret_instead_of_basic(client: TestClient, world: World) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": world.robot.client_id,
        "client_secret": world.robot.secret,
    }

    body = client.post("/api/oauth/token", data=form).json()

    assert body["scope"] == "market:read"
    assert "refresh_token" not in body


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"grant_type": "client_credentials", "scope": "backtests:run"}, 400, "invalid_scope"),
        ({"grant_type": "authorization_code", "code": "x", "code_verifier": "y"}, 400, "unauthorized_client"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({}, 400, "invalid_request"),
    ],
)
def test_a_bad_token_request_is_an_oauth_error(
    client: TestClient, world: World, form: dict[str, str], status: int, error: str
) -> None:
    response = client.post("/api/oauth/token", data=form, headers=world.robot.basic())

    assert response.status_code == status
    assert response.json()["error"] == error


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Basic bm9wZTpub3Bl"}, {"Authorization": "Basic !!!"}]
)
def test_a_client_that_fails_authentication_is_invalid_client(
    client: TestClient, world: World, headers: dict[str, str]
) -> None:
    response = client.post("/api/oauth/token", data={"grant_type": "client_credentials"}, headers=headers)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")


# ---- revocation and introspection --------------------------------------------------------------------


def test_revoking_an_access_token_stops_it_at_once(client: TestClient, world: World) -> None:
    tokens = tokens_by_code(client, world)

    response = client.post(
        "/api/oauth/revoke", data={"token": tokens["access_token"]}, headers=world.app.basic()
    )

    assert response.status_code == 200
    assert api_status(client, tokens["access_token"]) == 401
    assert refresh(client, world.app, tokens["refresh_token"]).status_code == 200  # the grant lives on


def test_revoking_a_refresh_token_revokes_its_whole_grant(client: TestClient, world: World) -> None:
    tokens = tokens_by_code(client, world)

    client.post("/api/oauth/revoke", data={"token": tokens["refresh_token"]}, headers=world.app.basic())

    assert api_status(client, tokens["access_token"]) == 401
    assert refresh(client, world.app, tokens["refresh_token"]).json()["error"] == "invalid_grant"


def test_a_client_cannot_revoke_another_clients_token(client: TestClient, world: World) -> None:
    tokens = tokens_by_code(client, world)

    response = client.post(
        "/api/oauth/revoke", data={"token": tokens["access_token"]}, headers=world.robot.basic()
    )

    assert response.status_code == 200  # the same answer as for an unknown token
    assert api_status(client, tokens["access_token"]) == 200
    assert (
        client.post("/api/oauth/revoke", data={"token": "garbage"}, headers=world.robot.basic()).status_code
        == 200
    )


def test_introspection_describes_a_clients_own_tokens_only(
    client: TestClient, world: World, clock: FakeClock
) -> None:
    tokens = tokens_by_code(client, world)

    def introspect(token: str, who: Registered) -> dict[str, Any]:
        answer: dict[str, Any] = client.post(
            "/api/oauth/introspect", data={"token": token}, headers=who.basic()
        ).json()
        return answer

    access = introspect(tokens["access_token"], world.app)
    assert access["active"] is True
    assert access["scope"] == "backtests:read market:read"
    assert access["sub"] == str(world.person.id)
    assert access["client_id"] == world.app.client_id
    assert introspect(tokens["refresh_token"], world.app)["token_type"] == "refresh_token"
    assert introspect(tokens["access_token"], world.robot) == {"active": False}
    assert introspect("qnt_rt_unknown", world.app) == {"active": False}
    clock.advance(minutes=16)
    assert introspect(tokens["access_token"], world.app) == {"active": False}
    assert client.post("/api/oauth/introspect", data={"token": tokens["access_token"]}).status_code == 401


# ---- signing keys ----------------------------------------------------------------------------------------


def test_a_token_signed_with_an_old_key_verifies_until_the_key_is_retired(
    client: TestClient, world: World, unit: Session, settings: Settings, clock: FakeClock
) -> None:
    old_token = client_token(client, world.robot)
    old_kid = jwt.decode(old_token, KeySet.import_key_set(client.get("/api/oauth/jwks").json())).header["kid"]

    new_key = rotate_signing_key(session=unit, settings=settings, now=clock.now())
    unit.commit()
    new_token = client_token(client, world.robot)

    assert (
        jwt.decode(new_token, KeySet.import_key_set(client.get("/api/oauth/jwks").json())).header["kid"]
        == new_key.kid
    )
    assert {key["kid"] for key in client.get("/api/oauth/jwks").json()["keys"]} == {old_kid, new_key.kid}
    assert api_status(client, old_token) == 200

    retire_signing_key(session=unit, kid=old_kid, now=clock.now())
    unit.commit()

    assert api_status(client, old_token) == 401
    assert api_status(client, new_token) == 200
    assert [key["kid"] for key in client.get("/api/oauth/jwks").json()["keys"]] == [new_key.kid]


def test_a_token_signed_by_someone_else_is_refused(client: TestClient, world: World) -> None:
    from joserfc.jwk import ECKey

    real = client_token(client, world.robot)
    claims = jwt.decode(real, KeySet.import_key_set(client.get("/api/oauth/jwks").json())).claims
    header = jwt.decode(real, KeySet.import_key_set(client.get("/api/oauth/jwks").json())).header
    forged = jwt.encode(
        dict(header), claims | {"scope": "market:read backtests:run"}, ECKey.generate_key("P-256")
    )

    assert api_status(client, forged) == 401


def test_the_metadata_document_describes_the_server(client: TestClient) -> None:
    metadata = client.get("/.well-known/oauth-authorization-server").json()

    assert metadata["issuer"] == "http://testserver"
    assert metadata["token_endpoint"] == "http://testserver/api/oauth/token"
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert "client_credentials" in metadata["grant_types_supported"]
