"""The live chat in a real browser: two people in two Chromium contexts see each other's messages as
they are posted, edited and deleted; markdown is rendered, and XSS payloads render as inert text.

Sessions come from the accounts service as cookies (``join``, as in test_workspace.py); everything else
goes through the page: the composer, the edit and delete buttons, the REST API and ``/live/ws``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from quanta import db
from quanta.accounts import service as accounts
from quanta.accounts.models import UserCreate
from quanta.accounts.service import SESSION_COOKIE
from quanta.chat import service as chat
from quanta.ratelimit import MemoryRateLimiter, limiter_for
from quanta.settings import Settings
from quanta.testing.app_server import RunningApp
from quanta.workspace import service as workspace
from quanta.workspace.models import CollaboratorCreate, CollaboratorRole, StrategyCreate

pytestmark = pytest.mark.browser

PASSWORD = "Sunlit-Orchard-Ledger-93"
CHAT_TIMEOUT = 90_000  # ms: the first load of a fresh production build may compile for a while


@dataclass(frozen=True)
class Person:
    username: str
    page: Page


@pytest.fixture(scope="module")
def app_settings(app_server: RunningApp) -> Iterator[Settings]:
    yield Settings(var_dir=Path(app_server.env["QUANTA_VAR_DIR"]))
    db.dispose_engines()


@pytest.fixture
def two_people(
    browser: Browser, app_server: RunningApp, app_settings: Settings
) -> Iterator[tuple[Person, Person]]:
    """Two signed-in people, each in a browser context of their own, both on the lobby."""
    contexts: list[BrowserContext] = []
    people: list[Person] = []
    for role in ("ann", "bob"):
        username = f"{role}-{uuid.uuid4().hex[:8]}"
        email = f"{username}@example.com"
        with db.session(app_settings) as unit:
            accounts.sign_up(
                session=unit, user_in=UserCreate(email=email, password=PASSWORD, username=username)
            )
            token = accounts.sign_in(
                session=unit, email=email, password=PASSWORD, limiter=limiter_for(app_settings)
            ).token
        context = browser.new_context(viewport={"width": 1300, "height": 950})
        contexts.append(context)
        context.add_cookies(
            [
                {
                    "name": SESSION_COOKIE,
                    "value": token,
                    "url": app_server.url,
                    "httpOnly": True,
                    "sameSite": "Lax",
                }
            ]
        )
        tab = context.new_page()
        tab.set_default_timeout(30_000)
        tab.goto(f"{app_server.url}/chat")
        expect(tab.get_by_test_id("chat-status")).to_have_attribute(
            "data-state", "live", timeout=CHAT_TIMEOUT
        )
        people.append(Person(username=username, page=tab))
    yield people[0], people[1]
    for context in contexts:
        context.close()


def post(person: Person, body: str) -> None:
    composer = person.page.get_by_test_id("chat-composer")
    composer.fill(body)
    person.page.get_by_test_id("chat-send").click()
    expect(composer).to_have_value("")


def message(person: Person, text: str) -> Locator:
    return person.page.get_by_test_id("chat-message").filter(has_text=text)


def test_two_people_see_each_others_messages_edits_and_deletions_live(
    two_people: tuple[Person, Person],
) -> None:
    ann, bob = two_people
    expect(ann.page.get_by_test_id("chat-presence")).to_contain_text(bob.username)
    expect(ann.page.get_by_test_id("chat-title")).to_have_text("Lobby")

    bob.page.get_by_test_id("chat-composer").press_sequentially("hel")
    expect(ann.page.get_by_test_id("chat-typing")).to_contain_text(f"{bob.username} is typing")

    post(ann, f"Hello **{bob.username}**, hi @{bob.username}")
    from_ann = message(bob, "Hello")
    expect(from_ann).to_have_attribute("data-author", ann.username)
    expect(from_ann.locator("strong").filter(has_text=bob.username)).to_be_visible()
    expect(from_ann.locator("span.mention")).to_have_text(f"@{bob.username}")
    expect(bob.page.get_by_test_id("chat-unread")).to_have_text("1")

    post(bob, "Hi Ann, all good")
    expect(message(ann, "Hi Ann, all good")).to_have_attribute("data-author", bob.username)
    expect(ann.page.get_by_test_id("chat-typing")).to_have_text("")

    mine = message(ann, "Hello")
    expect(mine.get_by_test_id("chat-edit")).to_be_visible()
    expect(message(ann, "Hi Ann").get_by_test_id("chat-edit")).to_have_count(0)  # not hers to edit
    mine.get_by_test_id("chat-edit").click()
    ann.page.get_by_test_id("chat-edit-box").fill("Hello again, edited")
    ann.page.get_by_test_id("chat-edit-save").click()
    expect(message(bob, "Hello again, edited").get_by_test_id("chat-edited")).to_be_visible()

    message(bob, "Hi Ann, all good").get_by_test_id("chat-delete").click()
    gone = ann.page.locator(f'[data-testid="chat-message"][data-author="{bob.username}"]')
    expect(gone).to_have_attribute("data-deleted", "true")
    expect(gone.get_by_test_id("chat-message-body")).to_have_text("message deleted")


def test_xss_payloads_render_as_inert_text(two_people: tuple[Person, Person]) -> None:
    ann, bob = two_people
    alerts: list[str] = []
    for person in (ann, bob):
        person.page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    marker = uuid.uuid4().hex[:6]
    payload = f"{marker} <img src=x onerror=alert(1)> [x](javascript:alert(1)) <script>alert(2)</script>"
    post(ann, payload)
    seen = message(bob, marker).get_by_test_id("chat-message-body")
    expect(seen).to_contain_text("<img src=x onerror=alert(1)>")
    expect(seen).to_contain_text("<script>alert(2)</script>")
    expect(seen).to_contain_text("[x](javascript:alert(1))")
    assert seen.locator("img, script, iframe, svg").count() == 0
    assert seen.locator("a").count() == 0
    html = seen.inner_html()
    assert "onerror=" not in html.replace("onerror=alert(1)&gt;", "")
    bob.page.wait_for_timeout(500)
    assert alerts == []


def test_posting_too_fast_is_refused_with_when_to_retry(two_people: tuple[Person, Person]) -> None:
    ann, _ = two_people
    composer = ann.page.get_by_test_id("chat-composer")
    for n in range(6):
        composer.fill(f"quick {n}")
        composer.press("Enter")
        if n < 5:
            expect(composer).to_have_value("")
    expect(ann.page.get_by_test_id("chat-error")).to_contain_text("You are posting too fast. Try again in")
    expect(composer).to_have_value("quick 5")  # kept, to send again


def test_a_direct_conversation_opens_by_username_at_its_own_address(
    two_people: tuple[Person, Person], app_server: RunningApp
) -> None:
    ann, bob = two_people
    ann.page.get_by_label("Message someone").fill(bob.username)
    ann.page.get_by_role("button", name="Message", exact=True).click()
    expect(ann.page).to_have_url(re.compile(r"/chat/cr_[A-Za-z0-9_-]{12}$"))
    expect(ann.page.get_by_test_id("chat-title")).to_have_text(bob.username)
    expect(ann.page.get_by_test_id("chat-status")).to_have_attribute("data-state", "live")
    post(ann, "just between us")
    room = ann.page.url.rsplit("/", 1)[1]
    bob.page.goto(f"{app_server.url}/chat")
    bob.page.get_by_test_id("chat-room-link").filter(has_text=ann.username).click()
    expect(bob.page).to_have_url(re.compile(f"/chat/{room}$"))
    expect(message(bob, "just between us")).to_have_attribute("data-author", ann.username)
    post(bob, "agreed")
    expect(message(ann, "agreed")).to_have_attribute("data-author", bob.username)


def test_older_messages_load_a_page_at_a_time(
    two_people: tuple[Person, Person], app_server: RunningApp, app_settings: Settings
) -> None:
    ann, bob = two_people
    with db.session(app_settings) as unit:
        author = accounts.user_by_email(unit, f"{ann.username}@example.com")
        assert author is not None
        room = chat.direct_room(session=unit, user=author, username=bob.username)
        for n in range(1, 56):
            chat.post_message(
                session=unit, actor=author, room=room, body=f"number {n}", limiter=MemoryRateLimiter()
            )
        address = f"{app_server.url}/chat/{room.public_id}"
    bob.page.goto(address)
    shown = bob.page.get_by_test_id("chat-message")
    expect(shown).to_have_count(50)
    expect(shown.first).to_have_attribute("data-seq", "6")
    bob.page.get_by_test_id("chat-load-older").click()
    expect(shown).to_have_count(55)
    expect(shown.first).to_contain_text("number 1")
    expect(bob.page.get_by_test_id("chat-load-older")).to_have_count(0)


def test_a_strategys_collaborators_chat_on_its_page(
    two_people: tuple[Person, Person], app_server: RunningApp, app_settings: Settings
) -> None:
    ann, bob = two_people
    with db.session(app_settings) as unit:
        owner = accounts.user_by_email(unit, f"{ann.username}@example.com")
        assert owner is not None
        strategy = workspace.create_strategy(
            session=unit, owner=owner, strategy_in=StrategyCreate(title="Team pick")
        )
        collaborator = CollaboratorCreate(username=bob.username, role=CollaboratorRole.EDITOR)
        workspace.add_collaborator(session=unit, actor=owner, strategy=strategy, collaborator_in=collaborator)
        address = f"{app_server.url}/strategies/{strategy.public_id}"
    for person in (ann, bob):
        person.page.goto(address)
        panel = person.page.get_by_test_id("strategy-chat")
        expect(panel.get_by_test_id("chat-status")).to_have_attribute(
            "data-state", "live", timeout=CHAT_TIMEOUT
        )
    ann.page.get_by_test_id("strategy-chat").get_by_test_id("chat-composer").fill(
        "shall we tighten the stop?"
    )
    ann.page.get_by_test_id("strategy-chat").get_by_test_id("chat-send").click()
    expect(message(bob, "tighten the stop")).to_have_attribute("data-author", ann.username)
    expect(bob.page.get_by_test_id("strategy-chat").get_by_test_id("chat-presence")).to_contain_text(
        ann.username
    )
