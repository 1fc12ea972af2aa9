"""Paper trading in a real browser: the owner deploys the latest version from the strategy page and
watches the account move — fills arrive, equity and P&L change with each live bar — then stops it.

The strategy is saved through ``quanta.workspace.service`` on the served app's database; deploying,
the live account and stopping go through the page (the desk runs in the app's lifespan on its replayed
market, the strategy in its sandboxed runner).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from quanta import db
from quanta.accounts import service as accounts
from quanta.accounts.models import UserCreate
from quanta.accounts.service import SESSION_COOKIE
from quanta.ratelimit import limiter_for
from quanta.settings import Settings
from quanta.testing.app_server import RunningApp
from quanta.workspace import service
from quanta.workspace.models import StrategyCreate

pytestmark = pytest.mark.browser

PASSWORD = "Sunlit-Orchard-Ledger-93"
SWING = """
from quanta import Strategy


class Swing(Strategy):
    hold = 3

    def init(self):
        self.entered = None

    def next(self):
        if not self.position:
            self.buy(size=10)
            self.entered = len(self.data.close)
        elif len(self.data.close) - self.entered >= self.hold:
            self.position.close()
"""


@pytest.fixture(scope="module")
def app_settings(app_server: RunningApp) -> Iterator[Settings]:
    yield Settings(var_dir=Path(app_server.env["QUANTA_VAR_DIR"]))
    db.dispose_engines()


def owner_with_strategy(settings: Settings) -> tuple[str, str]:
    """A new account with a strategy (one saved version); its session token and the strategy's id."""
    username = f"trader-{uuid.uuid4().hex[:8]}"
    email = f"{username}@example.com"
    with db.session(settings) as unit:
        user = accounts.sign_up(
            session=unit, user_in=UserCreate(email=email, password=PASSWORD, username=username)
        )
        strategy = service.create_strategy(
            session=unit, owner=user, strategy_in=StrategyCreate(title=f"Swing {username}", source=SWING)
        )
        public_id = strategy.public_id
    with db.session(settings) as unit:
        token = accounts.sign_in(
            session=unit, email=email, password=PASSWORD, limiter=limiter_for(settings)
        ).token
    return token, public_id


def number(text: str) -> float:
    return float(text.replace(",", ""))


def test_owner_deploys_to_paper_trading_and_watches_the_account_move(
    page: Page, app_server: RunningApp, app_settings: Settings
) -> None:
    token, strategy = owner_with_strategy(app_settings)
    cookie = {
        "name": SESSION_COOKIE,
        "value": token,
        "url": app_server.url,
        "httpOnly": True,
        "sameSite": "Lax",
    }
    page.context.add_cookies([cookie])  # type: ignore[list-item]
    page.goto(f"{app_server.url}/strategies/{strategy}")
    panel = page.get_by_test_id("paper-panel")
    expect(panel).to_be_visible()
    panel.get_by_test_id("paper-symbols").fill("GOOG")
    panel.get_by_test_id("paper-capital").fill("50000")
    panel.get_by_test_id("paper-deploy").click()
    expect(page.get_by_test_id("paper-message")).to_contain_text("Deployed version 1")
    expect(panel.get_by_test_id("paper-status")).to_have_text("running")

    account = panel.get_by_test_id("paper-account")
    expect(account).to_have_attribute("data-connected", "yes")
    expect(account.get_by_test_id("paper-equity")).to_have_text("50,000.00")  # the snapshot before any fill
    expect(account.get_by_test_id("paper-fill").first).to_be_visible(timeout=60_000)  # a bought, then sold
    expect(account.get_by_test_id("paper-fill")).not_to_have_count(1, timeout=30_000)
    first_seq = int(account.get_attribute("data-seq") or "0")
    first_equity = account.get_by_test_id("paper-equity").inner_text()
    expect(account).not_to_have_attribute("data-seq", str(first_seq))  # the next bar arrives
    page.wait_for_function(
        "([el, before]) => el.querySelector('[data-testid=paper-equity]').textContent !== before",
        arg=[account.element_handle(), first_equity],
        timeout=30_000,
    )
    equity = number(account.get_by_test_id("paper-equity").inner_text())
    pnl = number(account.get_by_test_id("paper-pnl").inner_text())
    assert pnl == pytest.approx(equity - 50_000, abs=0.011)
    expect(account.get_by_test_id("paper-positions")).to_be_visible()

    panel.get_by_test_id("paper-stop").click()
    expect(panel.get_by_test_id("paper-status")).to_have_text("stopped")
    expect(panel.get_by_test_id("paper-restart")).to_be_visible()
