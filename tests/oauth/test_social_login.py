"""Signing in with an outside provider, end to end against a real OIDC provider on loopback."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from quanta.accounts.service import resolve_session, user_by_email
from quanta.oauth.models import OAuthIdentity
from quanta.oauth.service import configured_providers, safe_next
from quanta.settings import Settings
from quanta.testing.clock import FakeClock
from tests.api.conftest import PASSWORD, make_user, sign_in_browser
from tests.oauth.provider import Provider


def go_to_provider(client: TestClient, name: str = "oidc", query: str = "next=/backtests") -> str:
    """Start signing in; follow the provider's automatic approval; return Quanta's callback URL."""
    start = client.get(f"/api/auth/oidc/{name}/start?{query}")
    assert start.status_code == 302, start.text
    approved = httpx.get(start.headers["location"], follow_redirects=False)
    assert approved.status_code == 302, approved.text
    callback = approved.headers["location"]
    assert callback.startswith(f"http://testserver/api/auth/oidc/{name}/callback?")
    return callback


def sign_in_error(response: httpx.Response) -> str | None:
    """The ``error`` the callback sent the browser to the sign-in page with (None if it signed in)."""
    assert response.status_code == 303, response.text
    query = parse_qs(urlsplit(response.headers["location"]).query)
    return query.get("error", [None])[0]


def session_user_email(unit: Session, client: TestClient, clock: FakeClock) -> str | None:
    token = client.cookies.get("quanta_session")
    current = resolve_session(session=unit, token=token, now=clock.now()) if token else None
    return current.user.email if current is not None else None


def test_a_new_person_gets_an_account_and_a_session(
    client: TestClient, provider: Provider, unit: Session, clock: FakeClock
) -> None:
    response = client.get(go_to_provider(client))

    assert sign_in_error(response) is None
    assert response.headers["location"] == "http://testserver/backtests"
    assert session_user_email(unit, client, clock) == "grace@example.com"
    user = user_by_email(unit, "grace@example.com")
    assert user is not None
    assert user.email_verified_at is not None
    links = unit.exec(select(OAuthIdentity).where(col(OAuthIdentity.user_id) == user.id)).all()
    assert [(link.provider, link.subject) for link in links] == [("oidc", "person-1")]
    assert "quanta_oidc_flow" not in client.cookies


def test_a_linked_person_signs_in_to_the_same_account_again(
    client: TestClient, provider: Provider, unit: Session, clock: FakeClock
) -> None:
    client.get(go_to_provider(client))
    first = user_by_email(unit, "grace@example.com")
    client.cookies.clear()
    provider.person.email = "grace@navy.example"  # the address at the provider changed

    assert sign_in_error(client.get(go_to_provider(client))) is None
    assert session_user_email(unit, client, clock) == "grace@example.com"
    assert first is not None
    assert user_by_email(unit, "grace@navy.example") is None


def test_a_wrong_state_is_refused(
    client: TestClient, provider: Provider, unit: Session, clock: FakeClock
) -> None:
    callback = go_to_provider(client).replace("state=", "state=forged")

    assert sign_in_error(client.get(callback)) == "state_mismatch"
    assert session_user_email(unit, client, clock) is None


def test_a_callback_without_the_flow_cookie_is_refused(client: TestClient, provider: Provider) -> None:
    callback = go_to_provider(client)
    client.cookies.clear()

    assert sign_in_error(client.get(callback)) == "flow_missing"


def test_a_replayed_code_is_refused(
    client: TestClient, provider: Provider, unit: Session, clock: FakeClock
) -> None:
    callback = go_to_provider(client)
    flow_cookie = client.cookies.get("quanta_oidc_flow")
    assert sign_in_error(client.get(callback)) is None
    client.cookies.clear()
    client.cookies.set("quanta_oidc_flow", flow_cookie or "", path="/api/auth/oidc")

    assert sign_in_error(client.get(callback)) == "code_rejected"
    assert session_user_email(unit, client, clock) is None


@pytest.mark.parametrize(
    ("misbehaviour", "value"),
    [("audience", "someone-else"), ("expired", True), ("nonce", "another-nonce"), ("foreign_key", True)],
)
def test_an_id_token_that_does_not_check_out_is_refused(
    *,
    client: TestClient,
    provider: Provider,
    unit: Session,
    clock: FakeClock,
    misbehaviour: str,
    value: object,
) -> None:
    setattr(provider.behaviour, misbehaviour, value)

    assert sign_in_error(client.get(go_to_provider(client))) == "id_token_invalid"
    assert user_by_email(unit, "grace@example.com") is None


def test_an_unverified_address_gets_no_account(client: TestClient, provider: Provider, unit: Session) -> None:
    provider.person.email_verified = False

    assert sign_in_error(client.get(go_to_provider(client))) == "email_unverified"
    assert user_by_email(unit, "grace@example.com") is None


def test_an_existing_account_is_linked_only_after_its_password(
    client: TestClient, provider: Provider, unit: Session, clock: FakeClock
) -> None:
    make_user(unit, clock, "grace@example.com")

    response = client.get(go_to_provider(client))

    assert response.headers["location"] == "http://testserver/signin?link=oidc"
    assert session_user_email(unit, client, clock) is None
    pending = client.get("/api/auth/oidc/link").json()
    assert pending["email"] == "grace@example.com"
    origin = {"Origin": "http://testserver"}
    wrong = client.post("/api/auth/oidc/link", data={"password": "not-the-password-1"}, headers=origin)
    assert wrong.status_code == 401
    assert wrong.headers["content-type"] == "application/problem+json"
    cross_site = client.post(
        "/api/auth/oidc/link", data={"password": PASSWORD}, headers={"Origin": "https://evil.example"}
    )
    assert cross_site.status_code == 403

    linked = client.post("/api/auth/oidc/link", data={"password": PASSWORD}, headers=origin)

    assert linked.status_code == 303
    assert session_user_email(unit, client, clock) == "grace@example.com"
    client.cookies.clear()
    assert sign_in_error(client.get(go_to_provider(client))) is None
    assert session_user_email(unit, client, clock) == "grace@example.com"


def test_the_link_form_accepts_the_csrf_token_instead_of_an_origin(
    client: TestClient, provider: Provider, unit: Session, clock: FakeClock
) -> None:
    make_user(unit, clock, "grace@example.com")
    client.get(go_to_provider(client))
    csrf = client.get("/api/auth/oidc/link").json()["csrf_token"]

    assert client.post("/api/auth/oidc/link", data={"password": PASSWORD}).status_code == 403
    linked = client.post(
        "/api/auth/oidc/link",
        data={"password": PASSWORD, "csrf_token": csrf},
        headers={"Accept": "application/json"},
    )

    assert linked.status_code == 200
    assert linked.json() == {"redirect_to": "http://testserver/"}


def test_a_signed_in_person_links_a_provider_account_with_another_address(
    client: TestClient, provider: Provider, unit: Session, clock: FakeClock
) -> None:
    ada = make_user(unit, clock, "ada@example.com")
    sign_in_browser(client, unit, clock, ada)

    response = client.get(go_to_provider(client, query="link=true&next=/settings"))

    assert response.headers["location"] == "http://testserver/settings"
    link = unit.exec(select(OAuthIdentity).where(col(OAuthIdentity.subject) == "person-1")).one()
    assert link.user_id == ada.id
    assert user_by_email(unit, "grace@example.com") is None


def test_linking_needs_a_signed_in_person(client: TestClient, provider: Provider) -> None:
    assert client.get("/api/auth/oidc/oidc/start?link=true").status_code == 401


def test_github_signs_in_through_its_api(
    client: TestClient, provider: Provider, unit: Session, clock: FakeClock
) -> None:
    response = client.get(go_to_provider(client, name="github"))

    assert sign_in_error(response) is None
    assert session_user_email(unit, client, clock) == "grace@example.com"
    link = unit.exec(select(OAuthIdentity).where(col(OAuthIdentity.provider) == "github")).one()
    assert link.subject == "4242"


def test_an_unknown_provider_is_a_404_problem(client: TestClient, provider: Provider) -> None:
    response = client.get("/api/auth/oidc/myspace/start")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_providers_are_listed_for_the_sign_in_page(client: TestClient, provider: Provider) -> None:
    names = [p["name"] for p in client.get("/api/auth/oidc/providers").json()]

    assert names == ["oidc", "github"]


def test_settings_switch_providers_on() -> None:
    settings = Settings(
        github_client_id="gh",
        github_client_secret="gh-secret",
        oidc_issuer="https://sso.example.com/",
        oidc_client_id="quanta",
        oidc_client_secret="sso-secret",
        oidc_name="Example SSO",
    )

    providers = configured_providers(settings)

    assert sorted(providers) == ["github", "oidc"]
    assert providers["oidc"].issuer == "https://sso.example.com"
    assert providers["oidc"].title == "Example SSO"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("/backtests?x=1", "/backtests?x=1"),
        ("//evil.example", "/"),
        ("https://evil.example", "/"),
        ("/\\evil", "/"),
        (None, "/"),
    ],
)
def test_next_stays_on_this_site(given: str | None, kept: str) -> None:
    assert safe_next(given) == kept


def test_a_refusal_at_the_provider_is_reported(client: TestClient, provider: Provider) -> None:
    start = client.get("/api/auth/oidc/oidc/start")
    state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]

    response = client.get(f"/api/auth/oidc/oidc/callback?error=access_denied&state={state}")

    assert sign_in_error(response) == "provider_refused"
