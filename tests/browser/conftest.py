"""Browser tests: the real app in production mode on a free port, driven by Playwright in Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from quanta.testing.app_server import CHROMIUM, CHROMIUM_ARGS, ROOT, RunningApp, serve_app

ARTIFACTS = ROOT / "test-artifacts"

# Assertions wait up to 20 s: on a loaded 2-core CI machine a sign-up (argon2 hashing, the mail) and a
# first page compile can outlast Playwright's 5 s default.
expect.set_options(timeout=20_000)


def hydrated(page: Page) -> None:
    """Wait until the page's state is live (``data-hydrated`` on the app shell): input typed before then
    may be lost when the page hydrates."""
    expect(page.locator("[data-hydrated='true']")).to_be_attached()


def sign_up(page: Page, url: str, email: str, password: str, *, username: str | None = None) -> None:
    """Create an account through the sign-up page; returns when it asks to check the inbox."""
    page.goto(f"{url}/signup")
    hydrated(page)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    if username is not None:
        page.get_by_label("Username (optional)").fill(username)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_test_id("check-inbox")).to_contain_text(email)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """The app on the embedded default (SQLite, DuckDB, in-memory state), once per session."""
    with serve_app(tmp_path_factory.mktemp("app-var")) as app:
        yield app


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser).

    Package-scoped: Playwright's sync API keeps an event loop running in this thread while it lives, so
    it must end with the browser tests, before any later test calls ``asyncio.run``.
    """
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make system` (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS)
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context and page; a screenshot is saved when the test fails."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    yield tab
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the test item, so fixtures can see whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
