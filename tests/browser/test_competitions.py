"""A short replayed competition in real browsers: one person enters through the page, another through the
service; both watch the same leaderboard move while the entries trade January 2012's GOOG bars on the
paper desk, with their own entry highlighted, until the final ranking — the one the app froze — shows on
both pages."""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import col, select

from quanta import db
from quanta.accounts.models import Profile, User, UserCreate
from quanta.accounts.service import sign_up
from quanta.competitions.models import CompetitionCreate, EntryStatus, StoredEntry
from quanta.competitions.service import competition_by_public_id, create_competition, enter, refresh_entries
from quanta.settings import Settings
from quanta.testing.app_server import RunningApp
from quanta.workspace.models import StrategyCreate
from quanta.workspace.service import create_strategy
from tests.browser import test_workspace as workspace_flows
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_workspace import Join

pytestmark = pytest.mark.browser

join = workspace_flows.join
app_settings = workspace_flows.app_settings

BUY_AND_HOLD = """from quanta import Strategy


class BuyAndHold(Strategy):
    def init(self) -> None:
        pass

    def next(self) -> None:
        if not self.position:
            self.buy()
"""
SELL_AND_HOLD = BUY_AND_HOLD.replace("BuyAndHold", "SellAndHold").replace("self.buy()", "self.sell()")
LEAD_SECONDS = 40
"""From creating the competition to its start: entering through the page and the validation runs."""


def user(settings: Settings, username: str) -> User:
    with db.session(settings) as unit:
        user_id = unit.exec(select(Profile.user_id).where(col(Profile.username) == username)).one()
        found = unit.get(User, user_id)
        assert found is not None
        unit.expunge(found)
        return found


def organise(settings: Settings) -> tuple[str, datetime]:
    """A competition on January 2012's GOOG bars (20 trading days, one a second), starting soon."""
    starts = datetime.now(UTC) + timedelta(seconds=LEAD_SECONDS)
    with db.session(settings) as unit:
        admin = sign_up(
            session=unit, user_in=UserCreate(email="judge@example.com", password="Judge-pass-123!")
        )
        assert admin is not None
        admin.is_admin = True
        competition = create_competition(
            session=unit,
            actor=admin,
            competition_in=CompetitionCreate(
                title="January Sprint",
                symbols=["GOOG"],
                replay_start=date(2012, 1, 3),
                replay_end=date(2012, 1, 31),
                starts_at=starts,
                ends_at=starts + timedelta(seconds=22),
                capital=10_000.0,
                rules="Buy, sell or hold GOOG.",
            ),
        )
        return competition.public_id, starts


def strategy(settings: Settings, owner: User, title: str, source: str) -> str:
    with db.session(settings) as unit:
        made = create_strategy(
            session=unit, owner=owner, strategy_in=StrategyCreate(title=title, source=source)
        )
        return made.public_id


def wait_accepted(settings: Settings, public_id: str, count: int, until: datetime) -> None:
    while True:
        with db.session(settings) as unit:
            competition = competition_by_public_id(session=unit, public_id=public_id)
            refresh_entries(session=unit, competition=competition)
            entries = unit.exec(
                select(StoredEntry).where(col(StoredEntry.competition_id) == competition.id)
            ).all()
            statuses = [e.status for e in entries]
        if len(statuses) == count and all(s is EntryStatus.ACCEPTED for s in statuses):
            return
        assert EntryStatus.REJECTED not in statuses, "an entry was rejected"
        assert datetime.now(UTC) < until, f"entries not validated before the start: {statuses}"
        time.sleep(0.5)


def board(tab: Page) -> list[tuple[str, str, str]]:
    """(rank, trader, return) of each row, in rank order."""
    rows = tab.get_by_test_id("leaderboard-row")
    found = [
        (
            rows.nth(i).get_attribute("data-rank") or "",
            rows.nth(i).get_by_test_id("leaderboard-user").inner_text(),
            rows.nth(i).get_by_test_id("leaderboard-return").inner_text(),
        )
        for i in range(rows.count())
    ]
    return sorted(found, key=lambda row: int(row[0] or 0))


def test_two_people_watch_the_same_leaderboard_move_until_the_final_ranking(
    join: Join, app_server: RunningApp, app_settings: Settings
) -> None:
    alice, bob = join("alice"), join("bob")
    public_id, starts = organise(app_settings)
    strategy(app_settings, user(app_settings, alice.username), "Long GOOG", BUY_AND_HOLD)
    bob_strategy = strategy(app_settings, user(app_settings, bob.username), "Short GOOG", SELL_AND_HOLD)

    alice.page.goto(f"{app_server.url}/competitions/{public_id}")
    expect(alice.page.get_by_test_id("competition-title")).to_have_text("January Sprint")
    alice.page.get_by_test_id("entry-submit").click()
    expect(alice.page.get_by_test_id("entry-message")).to_contain_text("Entered version 1")
    with db.session(app_settings) as unit:
        competition = competition_by_public_id(session=unit, public_id=public_id)
        enter(
            session=unit,
            actor=user(app_settings, bob.username),
            competition=competition,
            strategy_id=bob_strategy,
        )
    wait_accepted(app_settings, public_id, 2, starts)
    bob.page.goto(f"{app_server.url}/competitions/{public_id}")
    alice.page.reload()

    for person in (alice, bob):
        expect(person.page.get_by_test_id("leaderboard")).to_have_attribute(
            "data-status", "live", timeout=60_000
        )
        expect(person.page.get_by_test_id("leaderboard-row")).to_have_count(2, timeout=LEAD_SECONDS * 1000)
        mine = person.page.locator("[data-testid=leaderboard-row][data-mine=true]")
        expect(mine.get_by_test_id("leaderboard-user")).to_have_text(person.username)
        expect(person.page.get_by_test_id("competition-status")).to_have_text("running")

    seen: dict[str, set[int]] = {alice.username: set(), bob.username: set()}
    boards: list[list[tuple[str, str, str]]] = []
    deadline = time.monotonic() + 60
    while alice.page.get_by_test_id("leaderboard").get_attribute("data-final") != "true":
        assert time.monotonic() < deadline, "the competition did not end"
        for person in (alice, bob):
            seen[person.username].add(
                int(person.page.get_by_test_id("leaderboard").get_attribute("data-seq") or 0)
            )
        boards.append(board(alice.page))
        if len(boards) == 20:
            ARTIFACTS.mkdir(exist_ok=True)
            alice.page.screenshot(path=str(ARTIFACTS / "competition-board.png"), full_page=True)
        alice.page.wait_for_timeout(500)

    assert all(len(seqs) >= 5 for seqs in seen.values()), f"the board did not move: {seen}"
    assert len({tuple(b) for b in boards}) >= 3, "the returns did not change as the entries traded"
    expect(bob.page.get_by_test_id("leaderboard")).to_have_attribute("data-final", "true")
    for person in (alice, bob):  # the page follows the lifecycle: finished, with the frozen ranks
        expect(person.page.get_by_test_id("competition-status")).to_have_text("finished")
        expect(person.page.locator("[data-testid=entry-row][data-mine=true] td").first).to_have_text(
            re.compile("^[12]$")
        )
    final = board(alice.page)
    assert board(bob.page) == final
    with db.session(app_settings) as unit:
        competition = competition_by_public_id(session=unit, public_id=public_id)
        entries = unit.exec(
            select(StoredEntry).where(col(StoredEntry.competition_id) == competition.id)
        ).all()
        frozen = sorted((e.final_rank, e.final_return_pct) for e in entries)
    assert [row[0] for row in final] == [str(rank) for rank, _ in frozen]
    assert [row[2] for row in final] == [f"{ret:,.2f} %" for _, ret in frozen]
    assert {row[1] for row in final} == {alice.username, bob.username}
    bob.page.goto(f"{app_server.url}/u/{final[0][1]}")  # the winner's profile shows the gold badge
    expect(bob.page.get_by_test_id("profile-badge")).to_have_text("🥇 January Sprint")
