"""Accounts in a real browser: sign up, confirm by email, sign in and out, organisations, API clients, tokens.

Every test makes its own account (a unique address), so none depends on another. The emails the app sends are
read from its outbox, in the app's own SQLite database.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import col, select

from quanta import db
from quanta.accounts import InvalidToken, service
from quanta.mail import OutboxEmail
from quanta.settings import Settings
from quanta.testing.app_server import RunningApp
from tests.browser.conftest import hydrated
from tests.browser.conftest import sign_up as browser_sign_up

pytestmark = pytest.mark.browser

PASSWORD = "Sunlit-Orchard-Ledger-93"
MAIL_TIMEOUT = 15.0


@pytest.fixture(scope="module")
def app_settings(app_server: RunningApp) -> Iterator[Settings]:
    """Settings pointing at the served app's database (to read its outbox and check secrets)."""
    yield Settings(var_dir=Path(app_server.env["QUANTA_VAR_DIR"]))
    db.dispose_engines()


def unique_email() -> str:
    return f"trader-{uuid.uuid4().hex[:12]}@example.com"


def mails_to(settings: Settings, address: str, subject: str) -> list[str]:
    """The bodies of the emails to ``address`` with ``subject`` in the app's outbox, oldest first (waits for
    the first)."""
    deadline = time.monotonic() + MAIL_TIMEOUT
    while True:
        with db.session(settings) as unit:
            query = select(OutboxEmail).where(
                col(OutboxEmail.to) == address, col(OutboxEmail.subject) == subject
            )
            found = [mail.body for mail in unit.exec(query.order_by(col(OutboxEmail.id)))]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def link_in(body: str, app: RunningApp) -> str:
    """The link in an email, on the served app (the mail's links start with QUANTA_PUBLIC_URL)."""
    match = re.search(r"https?://\S+\?token=\S+", body)
    assert match is not None, body
    parts = urlsplit(match.group(0))
    return f"{app.url}{parts.path}?{parts.query}"


def sign_up(page: Page, app: RunningApp, email: str) -> None:
    browser_sign_up(page, app.url, email, PASSWORD)


def verify(page: Page, app: RunningApp, settings: Settings, email: str) -> None:
    [mail] = mails_to(settings, email, "Confirm your email address")
    page.goto(link_in(mail, app))
    expect(page.get_by_test_id("verified")).to_contain_text(email)


def sign_in(page: Page, app: RunningApp, email: str, password: str = PASSWORD, next_path: str = "") -> None:
    page.goto(f"{app.url}/signin" + (f"?next={next_path}" if next_path else ""))
    hydrated(page)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def expect_signed_in(page: Page) -> None:
    expect(page.get_by_test_id("user-menu")).to_be_visible()


@pytest.fixture
def account(page: Page, app_server: RunningApp, app_settings: Settings) -> str:
    """A confirmed account, signed in on ``page``; its address."""
    email = unique_email()
    sign_up(page, app_server, email)
    verify(page, app_server, app_settings, email)
    sign_in(page, app_server, email)
    expect_signed_in(page)
    return email


def test_sign_up_confirm_by_email_sign_in_and_stay_signed_in_after_reload(
    page: Page, app_server: RunningApp, app_settings: Settings
) -> None:
    email = unique_email()

    sign_up(page, app_server, email)
    [mail] = mails_to(app_settings, email, "Confirm your email address")
    page.goto(link_in(mail, app_server))
    expect(page.get_by_test_id("verified")).to_contain_text(email)
    sign_in(page, app_server, email)

    expect_signed_in(page)
    page.reload()
    expect_signed_in(page)
    page.goto(f"{app_server.url}/settings")
    expect(page.get_by_test_id("account-email")).to_have_text(email)
    expect(page.get_by_test_id("email-status")).to_have_text("confirmed")
    expect(page.get_by_test_id("session-row")).to_have_count(1)


def test_session_cookie_is_http_only_and_same_site_lax(page: Page, account: str) -> None:
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}

    cookie = cookies["quanta_session"]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert page.evaluate("document.cookie").find("quanta_session") == -1


def test_owner_creates_an_organisation_and_registers_an_api_client_whose_secret_shows_once(
    page: Page, app_server: RunningApp, app_settings: Settings, account: str
) -> None:
    slug = f"desk-{uuid.uuid4().hex[:8]}"
    page.goto(f"{app_server.url}/orgs")
    page.get_by_label("Name", exact=True).fill("Momentum Desk")
    page.get_by_label("Address (optional)").fill(slug)
    page.get_by_role("button", name="Create organisation").click()

    expect(page.get_by_test_id("org-name")).to_have_text("Momentum Desk")
    expect(page.get_by_test_id("my-role")).to_have_text("owner")
    page.get_by_label("Client name").fill("Backtest bot")
    page.get_by_label("client_credentials").check()
    page.get_by_label("market:read").check()
    page.get_by_role("button", name="Register client").click()

    secret = page.get_by_test_id("client-secret").inner_text()
    client_id = page.get_by_test_id("client-id").inner_text()
    assert secret.startswith(service.CLIENT_SECRET_PREFIX)
    with db.session(app_settings) as unit:
        client = service.authenticate_api_client(session=unit, client_id=client_id, client_secret=secret)
        assert client.scopes == ["market:read"]
    expect(page.get_by_test_id("client-row")).to_contain_text("Backtest bot")
    page.reload()
    expect(page.get_by_test_id("client-row")).to_contain_text("Backtest bot")
    expect(page.get_by_test_id("client-secret")).to_have_count(0)
    assert secret not in page.content()


def test_personal_access_token_is_shown_once_and_can_be_revoked(
    page: Page, app_server: RunningApp, app_settings: Settings, account: str
) -> None:
    page.goto(f"{app_server.url}/settings")
    page.get_by_label("Token name").fill("notebook")
    page.get_by_label("market:read").check()
    page.get_by_label("backtests:run").check()
    page.get_by_role("button", name="Create token").click()

    secret = page.get_by_test_id("token-secret").inner_text()
    assert secret.startswith(service.PAT_PREFIX)
    with db.session(app_settings) as unit:
        identity = service.verify_personal_access_token(session=unit, token=secret)
        assert identity.scopes == {"market:read", "backtests:run"}
    row = page.get_by_test_id("token-row").filter(has_text="notebook")
    expect(row).to_contain_text("market:read, backtests:run")
    page.get_by_role("button", name="I have copied it").click()
    expect(page.get_by_test_id("token-secret")).to_have_count(0)
    row.get_by_role("button", name="Revoke").click()
    expect(row).to_contain_text("revoked")
    with db.session(app_settings) as unit, pytest.raises(InvalidToken):
        service.verify_personal_access_token(session=unit, token=secret)


def test_sign_out_ends_the_session_and_protected_pages_send_you_to_sign_in(
    page: Page, app_server: RunningApp, account: str
) -> None:
    page.get_by_test_id("user-menu").click()
    page.get_by_role("menuitem", name="Sign out").click()

    expect(page.get_by_test_id("sign-in-link")).to_be_visible()
    page.goto(f"{app_server.url}/settings")
    expect(page).to_have_url(re.compile(r"/signin\?next=%2Fsettings$"))


def test_protected_page_redirects_to_sign_in_and_back(
    page: Page, app_server: RunningApp, app_settings: Settings
) -> None:
    email = unique_email()
    sign_up(page, app_server, email)
    verify(page, app_server, app_settings, email)

    page.goto(f"{app_server.url}/security")
    expect(page).to_have_url(re.compile(r"/signin\?next=%2Fsecurity$"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(re.compile(rf"^{re.escape(app_server.url)}/security/?$"))
    expect(page.get_by_test_id("audit-row").filter(has_text="Signed in").first).to_be_visible()
    expect(page.get_by_test_id("audit-row").filter(has_text="Email address confirmed")).to_have_count(1)


def test_wrong_password_shows_the_generic_error(
    page: Page, app_server: RunningApp, app_settings: Settings
) -> None:
    email = unique_email()
    sign_up(page, app_server, email)

    sign_in(page, app_server, email, password="Not-The-Right-One-17")
    expect(page.get_by_test_id("sign-in-error")).to_have_text("Incorrect email or password.")
    sign_in(page, app_server, unique_email())
    expect(page.get_by_test_id("sign-in-error")).to_have_text("Incorrect email or password.")
    expect(page.get_by_test_id("sign-in-link")).to_be_visible()


def test_weak_password_shows_the_policy(page: Page, app_server: RunningApp) -> None:
    page.goto(f"{app_server.url}/signup")
    hydrated(page)
    page.get_by_label("Email").fill(unique_email())
    page.get_by_label("Password").fill("password")
    page.get_by_role("button", name="Create account").click()

    expect(page.get_by_test_id("password-problems")).to_contain_text("at least 12 characters")
    expect(page.get_by_test_id("check-inbox")).to_have_count(0)


def test_public_profile_shows_the_display_name_and_never_the_email(
    page: Page, app_server: RunningApp, account: str
) -> None:
    handle = f"ada-{uuid.uuid4().hex[:6]}"
    page.goto(f"{app_server.url}/settings")
    page.get_by_label("Display name").fill("Ada Lovelace")
    page.get_by_label("Username").fill(handle)
    page.get_by_label("Bio").fill("Engines and numbers.")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_test_id("profile-saved")).to_be_visible()

    page.goto(f"{app_server.url}/u/{handle}")
    expect(page.get_by_test_id("profile-name")).to_have_text("Ada Lovelace")
    expect(page.get_by_test_id("profile-bio")).to_have_text("Engines and numbers.")
    assert account not in page.content()


def test_session_endpoint_refuses_cross_origin_requests(app_server: RunningApp) -> None:
    body = json.dumps({"email": unique_email(), "password": PASSWORD}).encode()
    request = urllib.request.Request(
        f"{app_server.url}/api/session",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Origin": "https://evil.example"},
    )

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)

    with refused.value as response:
        assert response.code == 403
        assert response.headers["Content-Type"] == "application/problem+json"


def test_password_reset_by_emailed_link_then_sign_in_with_the_new_password(
    page: Page, app_server: RunningApp, app_settings: Settings
) -> None:
    email = unique_email()
    sign_up(page, app_server, email)
    new_password = "Quiet-Harbour-Lantern-58"

    page.goto(f"{app_server.url}/reset")
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Email me a reset link").click()
    expect(page.get_by_test_id("reset-requested")).to_be_visible()
    [mail] = mails_to(app_settings, email, "Reset your password")
    page.goto(link_in(mail, app_server))
    page.get_by_label("New password").fill(new_password)
    page.get_by_role("button", name="Set the new password").click()

    expect(page.get_by_test_id("sign-in-notice")).to_contain_text("Your password is changed")
    sign_in(page, app_server, email, password=new_password)
    expect_signed_in(page)


def test_changing_the_password_keeps_this_browser_signed_in(
    page: Page, app_server: RunningApp, account: str
) -> None:
    new_password = "Amber-Valley-Compass-71"
    page.goto(f"{app_server.url}/settings")

    page.locator("#password-form").get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(new_password)
    page.get_by_role("button", name="Change password").click()

    expect(page.get_by_test_id("password-changed")).to_be_visible()
    expect_signed_in(page)
    expect(page.get_by_test_id("session-row")).to_have_count(1)
    page.get_by_test_id("user-menu").click()
    page.get_by_role("menuitem", name="Sign out").click()
    expect(page.get_by_test_id("sign-in-link")).to_be_visible()
    sign_in(page, app_server, account, password=new_password)
    expect_signed_in(page)


def test_repeated_wrong_passwords_are_throttled_with_a_retry_time(
    page: Page, app_server: RunningApp, app_settings: Settings
) -> None:
    email = unique_email()
    sign_up(page, app_server, email)
    page.goto(f"{app_server.url}/signin")
    hydrated(page)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("Not-The-Right-One-17")

    for _ in range(service.SIGN_IN_ACCOUNT_QUOTA.limit):
        with page.expect_response(re.compile(r"/api/session$")) as answer:
            page.get_by_role("button", name="Sign in").click()
        assert answer.value.status == 401
    with page.expect_response(re.compile(r"/api/session$")) as answer:
        page.get_by_role("button", name="Sign in").click()

    assert answer.value.status == 429
    assert 0 < int(answer.value.headers["retry-after"]) <= 15 * 60
    expect(page.get_by_test_id("sign-in-error")).to_have_text("Too many attempts. Try again in 15 minutes.")


def test_invited_person_signs_in_from_the_emailed_link_and_joins_the_organisation(
    page: Page, browser: Browser, app_server: RunningApp, app_settings: Settings, account: str
) -> None:
    slug = f"club-{uuid.uuid4().hex[:8]}"
    invitee = unique_email()
    page.goto(f"{app_server.url}/orgs")
    page.get_by_label("Name", exact=True).fill("Pairs Club")
    page.get_by_label("Address (optional)").fill(slug)
    page.get_by_role("button", name="Create organisation").click()
    expect(page.get_by_test_id("org-name")).to_have_text("Pairs Club")
    page.get_by_label("Email").fill(invitee)
    page.get_by_role("button", name="Invite").click()
    expect(page.get_by_test_id("invitation-row")).to_contain_text(invitee)

    context = browser.new_context()
    try:
        guest = context.new_page()
        sign_up(guest, app_server, invitee)
        [mail] = mails_to(app_settings, invitee, "Join Pairs Club on Quanta")
        guest.goto(link_in(mail, app_server))
        expect(guest).to_have_url(re.compile(r"/signin\?next=%2Finvitations%2Faccept%3Ftoken%3D"))
        guest.get_by_label("Email").fill(invitee)
        guest.get_by_label("Password").fill(PASSWORD)
        guest.get_by_role("button", name="Sign in").click()

        expect(guest).to_have_url(re.compile(rf"/orgs/{slug}/?$"))
        expect(guest.get_by_test_id("my-role")).to_have_text("member")
        expect(guest.get_by_test_id("member-row")).to_have_count(2)
    finally:
        context.close()
    page.reload()
    expect(page.get_by_test_id("member-row")).to_have_count(2)
    expect(page.get_by_test_id("invitation-row")).to_have_count(0)
