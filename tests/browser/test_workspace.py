"""The strategy workspace in a real browser: create from a template, save versions, diff, publish, find in
the gallery, star, fork, embed, and share read-only — each person in their own browser context.

Every test makes its own accounts (unique usernames), so none depends on another; sessions come from the
accounts service as cookies (the sign-in form has its own tests in test_accounts.py). A verified backtest is
recorded the way the sandboxed workers record one: through ``quanta.workspace.service``, on the served
app's database.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from quanta import db
from quanta.accounts import service as accounts
from quanta.accounts.models import UserCreate
from quanta.accounts.service import SESSION_COOKIE
from quanta.examples import example
from quanta.ratelimit import limiter_for
from quanta.settings import Settings
from quanta.testing.app_server import RunningApp
from quanta.workspace import service
from quanta.workspace.models import VerifiedBacktest
from tests.browser.conftest import sign_up

pytestmark = pytest.mark.browser

PASSWORD = "Sunlit-Orchard-Ledger-93"
STRATEGY_URL = re.compile(r"/strategies/(st_[A-Za-z0-9_-]+)$")


@dataclass(frozen=True)
class Person:
    """Someone signed in, in their own browser context."""

    username: str
    page: Page


Join = Callable[..., Person]


@pytest.fixture(scope="module")
def app_settings(app_server: RunningApp) -> Iterator[Settings]:
    """Settings pointing at the served app's database."""
    yield Settings(var_dir=Path(app_server.env["QUANTA_VAR_DIR"]))
    db.dispose_engines()


def sign_up_in_the_browser(tab: Page, app: RunningApp, email: str, username: str) -> None:
    sign_up(tab, app.url, email, PASSWORD, username=username)


def open_session(settings: Settings, email: str, username: str, *, new: bool) -> str:
    """A session token for the account ``email`` (made first when ``new``), from the accounts service."""
    with db.session(settings) as unit:
        if new:
            user_in = UserCreate(email=email, password=PASSWORD, username=username)
            accounts.sign_up(session=unit, user_in=user_in)
        grant = accounts.sign_in(session=unit, email=email, password=PASSWORD, limiter=limiter_for(settings))
        return grant.token


@pytest.fixture
def join(browser: Browser, app_server: RunningApp, app_settings: Settings, page: Page) -> Iterator[Join]:
    """A new signed-in person with a unique username. The first uses the test's ``page``, the others a
    browser context of their own. ``in_browser=True`` signs up through the sign-up form; the session
    cookie always comes from the accounts service (signing in through the form is tested in
    test_accounts.py)."""
    contexts: list[BrowserContext] = []
    people: list[Person] = []

    def sign_up_and_in(role: str, *, in_browser: bool = False) -> Person:
        tab = page
        if people:
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            contexts.append(context)
            tab = context.new_page()
            tab.set_default_timeout(30_000)
        username = f"{role}-{uuid.uuid4().hex[:8]}"
        email = f"{username}@example.com"
        if in_browser:
            sign_up_in_the_browser(tab, app_server, email, username)
        token = open_session(app_settings, email, username, new=not in_browser)
        cookie = {"name": SESSION_COOKIE, "value": token, "url": app_server.url, "httpOnly": True}
        tab.context.add_cookies([{**cookie, "sameSite": "Lax"}])
        tab.goto(f"{app_server.url}/strategies")
        expect(tab.get_by_test_id("user-menu")).to_be_visible()
        people.append(Person(username=username, page=tab))
        return people[-1]

    yield sign_up_and_in
    for context in contexts:
        context.close()


def source_of(tab: Page) -> Locator:
    """The text of the page's strategy editor (CodeMirror's content element)."""
    return tab.get_by_test_id("strategy-editor").locator(".cm-content")


def create_strategy(person: Person, app: RunningApp, title: str, template: str) -> str:
    """Create a strategy from a bundled example through the gallery's dialog; its public id."""
    tab = person.page
    tab.goto(f"{app.url}/strategies")
    tab.get_by_role("button", name="New strategy").click()
    tab.get_by_label("Title", exact=True).fill(title)
    tab.get_by_label("Starting template").click()
    tab.get_by_role("option", name=template).click()
    tab.get_by_role("button", name="Create strategy").click()
    expect(tab).to_have_url(STRATEGY_URL)
    expect(tab.get_by_test_id("strategy-title")).to_have_text(title)
    match = STRATEGY_URL.search(tab.url)
    assert match is not None
    return match.group(1)


def test_author_saves_diffs_and_publishes_then_another_person_finds_stars_and_forks_it(
    join: Join, app_server: RunningApp, app_settings: Settings
) -> None:
    author = join("author", in_browser=True)
    word = uuid.uuid4().hex[:10]
    title = f"Dip buyer {word}"
    template = example("rsi_mean_reversion").path.read_text(encoding="utf-8")
    changed_line = template.splitlines().index("    oversold = 30.0") + 1

    public_id = create_strategy(author, app_server, title, "RSI mean reversion")
    tab = author.page
    expect(tab.get_by_test_id("my-role")).to_have_text("you: owner")
    expect(tab.get_by_test_id("visibility")).to_have_text("private")
    expect(source_of(tab)).to_contain_text("class RsiMeanReversion(Strategy):")
    expect(tab.get_by_test_id("version-row")).to_have_count(1)

    editor = tab.get_by_test_id("strategy-editor")
    expect(editor).to_have_attribute("data-synced", "true")
    source_of(tab).click()
    tab.keyboard.press("Control+a")
    tab.keyboard.insert_text(template.replace("    oversold = 30.0", "    oversold = 25.0"))
    expect(tab.get_by_test_id("edited")).to_be_visible()
    tab.get_by_label("Version message").fill("Buy deeper dips")
    tab.get_by_role("button", name="Save version").click()

    expect(tab.get_by_test_id("strategy-message")).to_have_text("Saved version 2.")
    expect(tab.get_by_test_id("latest-version")).to_have_text("v2")
    expect(source_of(tab)).to_contain_text("oversold = 25.0")
    expect(tab.get_by_test_id("edited")).to_have_count(0)
    rows = tab.get_by_test_id("version-row")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Buy deeper dips")
    expect(rows.first).to_contain_text(author.username)

    tab.get_by_role("button", name="Show diff").click()
    expect(tab.get_by_test_id("diff-summary")).to_have_text("v1 → v2: 1 added, 1 removed")
    added = tab.locator('[data-testid="diff-line"][data-kind="add"]')
    removed = tab.locator('[data-testid="diff-line"][data-kind="remove"]')
    expect(added).to_have_count(1)
    expect(added).to_contain_text("oversold = 25.0")
    expect(added.locator("td").nth(1)).to_have_text(str(changed_line))
    expect(removed).to_contain_text("oversold = 30.0")
    expect(removed.locator("td").first).to_have_text(str(changed_line))

    tab.get_by_role("button", name="Restore version 1").click()
    expect(tab.get_by_test_id("strategy-message")).to_have_text("Restored version 1 as version 3.")
    expect(source_of(tab)).to_contain_text("oversold = 30.0")
    expect(rows.first).to_contain_text("Restore version 1")
    expect(rows.first).to_contain_text("restored from v1")

    tab.get_by_label("Tags", exact=True).fill("mean-reversion, RSI")
    tab.get_by_role("button", name="Save details").click()
    expect(tab.get_by_test_id("strategy-message")).to_have_text("Details saved.")
    expect(tab.get_by_test_id("strategy-tag")).to_have_text(["mean-reversion", "rsi"])
    expect(tab.get_by_test_id("embed-snippet")).to_have_count(0)
    tab.get_by_role("radio", name="Public").click()
    expect(tab.get_by_test_id("visibility")).to_have_text("public")
    expect(tab.get_by_test_id("embed-snippet")).to_contain_text(f'{app_server.url}/embed/{public_id}"')

    with db.session(app_settings) as unit:
        strategy = service.strategy_by_public_id(session=unit, public_id=public_id, user_id=None)
        backtest = VerifiedBacktest(
            run_id=f"run-{word}",
            receipt_hash="a" * 64,
            version=2,
            return_pct=12.5,
            sharpe=1.234,
            max_drawdown_pct=-8.1,
            as_of=datetime(2025, 3, 4, 5, 6, tzinfo=UTC),
        )
        service.record_verified_backtest(session=unit, strategy=strategy, backtest=backtest)

    reader = join("reader")
    other = reader.page
    other.goto(f"{app_server.url}/strategies")
    other.get_by_label("Search", exact=True).fill(f"buyer {word}")
    other.get_by_role("button", name="Search").click()
    card = other.get_by_test_id("strategy-card")
    expect(card).to_have_count(1)
    expect(card).to_contain_text(title)
    expect(card).to_contain_text(author.username)
    expect(card.get_by_test_id("verified-figures")).to_contain_text("12.50 %")
    card.get_by_test_id("strategy-tag").get_by_text("rsi", exact=True).click()
    expect(other.get_by_label("Tag", exact=True)).to_have_value("rsi")
    expect(card).to_contain_text(title)
    other.get_by_label("Sort by").click()
    other.get_by_role("option", name="Best return").click()
    expect(card).to_have_count(1)
    card.get_by_test_id("strategy-card-title").click()

    expect(other).to_have_url(re.compile(re.escape(f"/strategies/{public_id}") + "$"))
    expect(other.get_by_test_id("my-role")).to_have_text("you: viewer")
    expect(other.get_by_test_id("save-form")).to_have_count(0)
    other.get_by_test_id("star-button").click()
    expect(other.get_by_test_id("star-button")).to_contain_text("Starred")
    expect(other.get_by_test_id("star-count")).to_have_text("1")
    other.get_by_test_id("fork-button").click()

    expect(other).not_to_have_url(re.compile(re.escape(public_id)))
    expect(other).to_have_url(STRATEGY_URL)
    expect(other.get_by_test_id("my-role")).to_have_text("you: owner")
    expect(other.get_by_test_id("visibility")).to_have_text("private")
    expect(source_of(other)).to_contain_text("oversold = 30.0")
    origin = other.get_by_test_id("forked-from")
    expect(origin).to_contain_text(f"{author.username} / {title} (v3)")
    expect(other.get_by_test_id("ancestor-row")).to_contain_text(title)
    origin.get_by_role("link").click()
    expect(other.get_by_test_id("fork-count")).to_have_text("1")
    expect(other.get_by_test_id("star-count")).to_have_text("1")

    other.goto(f"{app_server.url}/embed/{public_id}")
    expect(other.get_by_test_id("embed-title")).to_have_text(title)
    expect(other.get_by_test_id("embed-return")).to_have_text("12.50 %")
    expect(other.get_by_test_id("embed-sharpe")).to_have_text("1.23")
    expect(other.get_by_test_id("embed-drawdown")).to_have_text("-8.10 %")
    expect(other.get_by_test_id("embed-as-of")).to_contain_text("2025-03-04 05:06 UTC (version 2)")
    expect(other.get_by_test_id("user-menu")).to_have_count(0)


def test_a_private_strategy_shared_with_a_viewer_is_read_only_and_does_not_exist_for_strangers(
    join: Join, app_server: RunningApp
) -> None:
    owner = join("owner")
    viewer = join("viewer")
    stranger = join("stranger")
    title = f"Quiet pairs {uuid.uuid4().hex[:8]}"
    public_id = create_strategy(owner, app_server, title, "Pairs trade")
    address = f"{app_server.url}/strategies/{public_id}"

    owner.page.get_by_label("Username", exact=True).fill(viewer.username)
    owner.page.get_by_role("button", name="Invite").click()
    expect(owner.page.get_by_test_id("strategy-message")).to_have_text(
        f"Shared with {viewer.username} as viewer."
    )
    expect(owner.page.get_by_test_id("collaborator-row")).to_contain_text(viewer.username)

    owner.page.goto(f"{app_server.url}/strategies")
    owner.page.get_by_role("tab", name="Mine").click()
    expect(owner.page.get_by_test_id("strategy-card").filter(has_text=title)).to_contain_text("private")
    owner.page.goto(address)

    viewer.page.goto(address)
    expect(viewer.page.get_by_test_id("strategy-title")).to_have_text(title)
    expect(viewer.page.get_by_test_id("my-role")).to_have_text("you: viewer")
    expect(source_of(viewer.page)).to_contain_text("class PairsTrade")
    expect(source_of(viewer.page)).to_have_attribute("contenteditable", "false")
    expect(viewer.page.get_by_test_id("save-form")).to_have_count(0)
    expect(viewer.page.get_by_role("button", name="Save details")).to_have_count(0)
    expect(viewer.page.get_by_role("button", name="Invite")).to_have_count(0)
    expect(viewer.page.get_by_role("button", name="Leave this strategy")).to_be_visible()
    viewer.page.goto(f"{app_server.url}/strategies?tab=shared")
    expect(viewer.page.get_by_test_id("strategy-card")).to_contain_text(title)

    stranger.page.goto(address)
    expect(stranger.page.get_by_test_id("strategy-not-found")).to_be_visible()
    expect(stranger.page.get_by_text(title)).to_have_count(0)
    stranger.page.goto(f"{app_server.url}/embed/{public_id}")
    expect(stranger.page.get_by_test_id("strategy-not-found")).to_be_visible()

    owner.page.get_by_label(f"Role of {viewer.username}").click()
    owner.page.get_by_role("option", name="editor").click()
    expect(owner.page.get_by_test_id("strategy-message")).to_have_text(f"{viewer.username} is now editor.")
    viewer.page.goto(address)
    expect(viewer.page.get_by_test_id("my-role")).to_have_text("you: editor")
    expect(viewer.page.get_by_test_id("save-form")).to_be_visible()
