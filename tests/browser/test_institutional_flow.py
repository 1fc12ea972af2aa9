"""An institution's first day, end to end on the scale-out settings (PostgreSQL for app and market data,
Redis for state): sign in with the organisation's OpenID Connect provider, create an organisation, register
an API client, then use it from a script (client credentials: bars and a backtest), and let an application
act for the person through the consent page (authorization code with PKCE).

The provider is the real authlib one of ``tests/oauth/provider.py`` on loopback. Its redirect URI names the
app's public URL, so the app is served on a port chosen beforehand.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

from quanta.testing import app_server
from quanta.testing.app_server import RunningApp, serve_app
from quanta.testing.services import free_port
from tests.browser.conftest import sign_up
from tests.conftest import sqlalchemy_url, temporary_database
from tests.oauth.provider import CLIENT_ID, CLIENT_SECRET, Person, Provider, serve_provider

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.postgres]

PASSWORD = "Sunlit-Orchard-Ledger-93"
APP_CALLBACK = "http://127.0.0.1:9/callback"
"""The third-party application's redirect URI (the browser's request to it is answered by the test)."""


@pytest.fixture(scope="module")
def idp() -> Iterator[Provider]:
    with serve_provider() as provider:
        yield provider


@pytest.fixture(scope="module")
def institutional_app(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str, redis_url: str, idp: Provider
) -> Iterator[RunningApp]:
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    idp.register_redirects(f"{public_url}/api/auth/oidc/oidc/callback")
    with (
        temporary_database(postgres_url) as app_db,
        temporary_database(postgres_url) as market_db,
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setattr(app_server, "free_port", lambda: port)
        settings = {
            "QUANTA_DATABASE_URL": sqlalchemy_url(app_db),
            "QUANTA_MARKET_DATABASE_URL": market_db,
            "QUANTA_REDIS_URL": redis_url,
            "QUANTA_PUBLIC_URL": public_url,
            "QUANTA_OIDC_ISSUER": idp.issuer,
            "QUANTA_OIDC_CLIENT_ID": CLIENT_ID,
            "QUANTA_OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "QUANTA_OIDC_NAME": "Test IdP",
        }
        with serve_app(tmp_path_factory.mktemp("institutional-var"), **settings) as app:
            yield app


def _sign_in_with_provider(page: Page, app: RunningApp, idp: Provider, next_path: str) -> str:
    """Sign a new person in with the provider; their address."""
    email = f"{uuid.uuid4().hex[:8]}@bank.example"
    idp.person = Person(subject=f"person-{uuid.uuid4().hex[:8]}", email=email)
    page.goto(f"{app.url}/signin?next={next_path}")
    page.get_by_test_id("provider-oidc").click()
    expect(page.get_by_test_id("user-menu")).to_be_visible()
    return email


def _register_client(
    page: Page, app: RunningApp, name: str, grants: list[str], scopes: list[str]
) -> tuple[str, str]:
    page.get_by_label("Client name").fill(name)
    if "authorization_code" in grants:
        page.get_by_label("Redirect URIs (one per line)").fill(APP_CALLBACK)
    for grant in grants:
        page.get_by_label(grant, exact=True).check()
    for scope in scopes:
        page.get_by_label(scope, exact=True).check()
    page.get_by_role("button", name="Register client").click()
    secret = page.get_by_test_id("client-secret").inner_text()
    client_id = page.get_by_test_id("client-id").inner_text()
    return client_id, secret


def _create_organisation(page: Page, app: RunningApp, name: str) -> None:
    page.goto(f"{app.url}/orgs")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Address (optional)").fill(f"org-{uuid.uuid4().hex[:8]}")
    page.get_by_role("button", name="Create organisation").click()
    expect(page.get_by_test_id("org-name")).to_have_text(name)


def test_sign_in_with_the_provider_then_a_client_fetches_bars_and_runs_a_backtest(
    page: Page, institutional_app: RunningApp, idp: Provider
) -> None:
    email = _sign_in_with_provider(page, institutional_app, idp, "/orgs")
    expect(page).to_have_url(re.compile(r"/orgs/?$"))
    page.get_by_test_id("user-menu").click()
    expect(page.get_by_role("menu")).to_contain_text(email)
    page.keyboard.press("Escape")

    _create_organisation(page, institutional_app, "Quant Desk")
    client_id, secret = _register_client(
        page, institutional_app, "Research bot", ["client_credentials"], ["market:read", "backtests:run"]
    )

    with httpx.Client(base_url=institutional_app.url, timeout=60) as http:
        answer = http.post(
            "/api/oauth/token",
            data={"grant_type": "client_credentials", "scope": "market:read backtests:run"},
            auth=(client_id, secret),
        )
        assert answer.status_code == 200, answer.text
        http.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"

        bars = http.get("/api/v1/instruments/GOOG/bars", params={"format": "json"})
        assert bars.status_code == 200, bars.text
        assert bars.json()["items"]

        backtest = http.post("/api/v1/backtests", json={"example": "sma_cross", "symbols": ["GOOG"]})
        assert backtest.status_code == 201, backtest.text
        assert backtest.json()["status"] == "succeeded"
        assert "Return [%]" in backtest.json()["stats"]


def test_an_application_acts_for_the_person_after_the_consent_page(
    page: Page, institutional_app: RunningApp, idp: Provider
) -> None:
    _sign_in_with_provider(page, institutional_app, idp, "/orgs")
    _create_organisation(page, institutional_app, "Signals Ltd")
    client_id, secret = _register_client(
        page, institutional_app, "Portfolio app", ["authorization_code"], ["market:read"]
    )
    landed: list[str] = []

    def the_application(route: Route) -> None:
        landed.append(route.request.url)
        route.fulfill(status=200, content_type="text/plain", body="back at the application")

    page.route(f"{APP_CALLBACK}**", the_application)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": APP_CALLBACK,
            "scope": "market:read",
            "state": "xyz",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    page.goto(f"{institutional_app.url}/api/oauth/authorize?{query}")

    expect(page).to_have_url(re.compile(r"/oauth/consent/?\?request="))
    expect(page.get_by_test_id("consent-client")).to_have_text("Portfolio app")
    expect(page.get_by_test_id("consent-organization")).to_have_text("Signals Ltd")
    expect(page.get_by_test_id("consent-scope")).to_contain_text("market:read")
    page.get_by_test_id("consent-approve").click()
    expect(page.get_by_text("back at the application")).to_be_visible()

    params = parse_qs(urlsplit(landed[-1]).query)
    assert params["state"] == ["xyz"]
    with httpx.Client(base_url=institutional_app.url, timeout=60) as http:
        answer = http.post(
            "/api/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": params["code"][0],
                "redirect_uri": APP_CALLBACK,
                "code_verifier": verifier,
            },
            auth=(client_id, secret),
        )
        assert answer.status_code == 200, answer.text
        bars = http.get(
            "/api/v1/instruments/GOOG/bars",
            params={"format": "json"},
            headers={"Authorization": f"Bearer {answer.json()['access_token']}"},
        )
        assert bars.status_code == 200, bars.text


def test_a_failed_provider_sign_in_is_explained_on_the_sign_in_page(
    page: Page, institutional_app: RunningApp
) -> None:
    page.goto(f"{institutional_app.url}/signin?error=state_mismatch&provider=oidc")
    expect(page.get_by_test_id("social-error")).to_contain_text("does not match the sign-in you started")
    expect(page.get_by_test_id("provider-oidc")).to_contain_text("Test IdP")


def test_an_existing_account_is_linked_to_the_provider_with_its_password(
    page: Page, institutional_app: RunningApp, idp: Provider
) -> None:
    email = f"{uuid.uuid4().hex[:8]}@bank.example"
    sign_up(page, institutional_app.url, email, PASSWORD)

    idp.person = Person(subject=f"person-{uuid.uuid4().hex[:8]}", email=email)
    page.goto(f"{institutional_app.url}/signin")
    page.get_by_test_id("provider-oidc").click()
    expect(page).to_have_url(re.compile(r"/sign-?in/?\?link=oidc"))
    linking = page.get_by_test_id("link-account")
    expect(linking).to_contain_text(email)
    linking.get_by_label("Password").fill(PASSWORD)
    linking.get_by_role("button", name="Link and sign in").click()
    expect(page.get_by_test_id("user-menu")).to_be_visible()
