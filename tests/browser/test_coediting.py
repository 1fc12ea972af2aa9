"""Editing a strategy together in real browsers: two people typing into one editor at once, a viewer who
cannot change it, edits that outlive a restart of the app, and a run one person starts that everyone on
the page watches — progress, results, the error marker, an optimisation's heatmap.

Each person is signed in (by cookie, as in test_workspace.py) in their own Chromium context. Strategies
and collaborators are made through the workspace services on the served app's database; what the
server holds is read from the same database (``quanta.collab.UpdateStore``).
"""

from __future__ import annotations

import difflib
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session

from quanta import db
from quanta.accounts import service as accounts
from quanta.accounts.models import User
from quanta.accounts.service import SESSION_COOKIE
from quanta.collab import UpdateStore
from quanta.examples import example
from quanta.settings import Settings
from quanta.testing.app_server import RunningApp, serve_app
from quanta.workspace import CollaboratorRole, service
from quanta.workspace.models import CollaboratorCreate, Strategy, StrategyCreate
from tests.browser import test_workspace as workspace_flows
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_workspace import Join, Person, open_session

pytestmark = pytest.mark.browser

# The workspace flows' fixtures: signed-in people, each in a browser context, and the app's settings.
join = workspace_flows.join
app_settings = workspace_flows.app_settings

SMA = example("sma_cross").path.read_text(encoding="utf-8")
NEXT = "    def next(self) -> None:\n"
SLOW = SMA.replace("    slow = 20\n", "    slow = 20\n    spin = 60000\n").replace(
    NEXT, NEXT + "        for _ in range(self.spin):\n            pass\n"
)
BROKEN = SMA.replace(NEXT, NEXT + "        ratio = 1 / 0\n")
BROKEN_LINE = BROKEN.splitlines().index("        ratio = 1 / 0") + 1
DOC_TEXT = """el => Array.from(el.querySelectorAll('.cm-line')).map(line => {
    const copy = line.cloneNode(true);
    copy.querySelectorAll('[contenteditable=false], [class^="cm-ySelection"]').forEach(n => n.remove());
    return copy.textContent.replace(/\\u2060/g, '');
}).join('\\n')"""
"""The editor's document as its lines show it, without the remote cursors' name tags."""
PASTE = """(el, text) => {
    const data = new DataTransfer();
    data.setData('text/plain', text);
    el.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true, cancelable: true}));
}"""


# ---- helpers -------------------------------------------------------------------------------------------


def synced_editor(tab: Page) -> None:
    """Wait until the page's editor is connected and has the room's document."""
    box = tab.get_by_test_id("strategy-editor")
    expect(box).to_have_attribute("data-status", "connected", timeout=30_000)
    expect(box).to_have_attribute("data-synced", "true")


def doc_text(tab: Page) -> str:
    return str(tab.get_by_test_id("strategy-editor").locator(".cm-content").evaluate(DOC_TEXT))


def shows(tab: Page, expected: str, what: str, timeout: float = 20.0) -> None:
    """Wait until the page's editor holds ``expected``; the failure shows how it differs."""
    deadline = time.monotonic() + timeout
    while (found := doc_text(tab)) != expected:
        if time.monotonic() > deadline:
            diff = "\n".join(difflib.unified_diff(expected.splitlines(), found.splitlines(), lineterm=""))
            pytest.fail(f"{what} did not happen within {timeout:.0f} s:\n{diff}")
        time.sleep(0.1)


def stored_text(settings: Settings, public_id: str) -> str:
    return UpdateStore(db.engine(settings)).text(public_id)


def eventually(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(0.1)


def replace_all(tab: Page, text: str) -> None:
    """Select the whole document in the page's editor and paste ``text`` over it.

    A paste, as people do it: typing over a selection that holds another person's cursor would hand the
    browser's editing of that widget to CodeMirror's reading of the DOM.
    """
    content = tab.get_by_test_id("strategy-editor").locator(".cm-content")
    content.focus()
    tab.keyboard.press("Control+a")
    content.evaluate(PASTE, text)


def user_of(unit: Session, username: str) -> User:
    """The account a test signed up as ``username`` (with the address ``username@example.com``)."""
    user = accounts.user_by_email(unit, f"{username}@example.com")
    assert user is not None
    return user


def strategy_of(settings: Settings, owner: str, public_id: str) -> Strategy:
    with db.session(settings) as unit:
        strategy = service.strategy_by_public_id(
            session=unit, public_id=public_id, user_id=user_of(unit, owner).id
        )
        unit.expunge(strategy)
        return strategy


def make_strategy(settings: Settings, owner: str, source: str, **roles: CollaboratorRole) -> str:
    """A private strategy of ``owner`` with ``source`` as version 1, shared as ``roles`` say; its id."""
    with db.session(settings) as unit:
        user = user_of(unit, owner)
        strategy = service.create_strategy(
            session=unit,
            owner=user,
            strategy_in=StrategyCreate(title=f"Together {uuid.uuid4().hex[:6]}", source=source, message="v1"),
        )
        for username, role in roles.items():
            service.add_collaborator(
                session=unit,
                actor=user,
                strategy=strategy,
                collaborator_in=CollaboratorCreate(username=username, role=role),
            )
        return strategy.public_id


def open_strategy(person: Person, app: RunningApp, public_id: str) -> Page:
    tab = person.page
    tab.goto(f"{app.url}/strategies/{public_id}")
    expect(tab.get_by_test_id("strategy-title")).to_be_visible()
    synced_editor(tab)
    return tab


# ---- the flows -----------------------------------------------------------------------------------------


def test_two_people_type_at_once_and_converge_while_a_viewer_watches_read_only(
    join: Join, app_server: RunningApp, app_settings: Settings
) -> None:
    owner = join("owner")
    editing = join("editor")
    viewer = join("viewer")
    public_id = make_strategy(
        app_settings,
        owner.username,
        SMA,
        **{editing.username: CollaboratorRole.EDITOR, viewer.username: CollaboratorRole.VIEWER},
    )
    ada = open_strategy(owner, app_server, public_id)
    bob = open_strategy(editing, app_server, public_id)
    vic = open_strategy(viewer, app_server, public_id)
    expect(ada.get_by_test_id("peer-name")).to_have_count(2)
    expect(ada.get_by_test_id("peers")).to_contain_text(editing.username)
    expect(ada.get_by_test_id("peers")).to_contain_text(viewer.username)
    expect(vic.get_by_test_id("read-only")).to_be_visible()
    expect(vic.get_by_test_id("save-form")).to_have_count(0)
    expect(vic.get_by_test_id("run-form")).to_have_count(0)

    mark = uuid.uuid4().hex[:6]
    top, bottom = f"# top {mark} by the owner", f"# bottom {mark} by the editor"
    ada.get_by_test_id("strategy-editor").locator(".cm-content").click()
    ada.keyboard.press("Control+Home")
    bob.get_by_test_id("strategy-editor").locator(".cm-content").click()
    bob.keyboard.press("Control+End")
    for i in range(0, max(len(top), len(bottom)), 4):  # interleaved: neither waits for the other's edits
        ada.keyboard.type(top[i : i + 4])
        bob.keyboard.type(bottom[i : i + 4])
    ada.keyboard.press("Escape")  # a completion list, if one opened, must not take the Enter
    ada.keyboard.press("Enter")

    expected = f"{top}\n{SMA}{bottom}"
    for tab in (ada, bob, vic):
        shows(tab, expected, "every editor converging on both edits")
    eventually(lambda: stored_text(app_settings, public_id) == expected, "the server storing both edits")
    expect(ada.locator(".cm-ySelectionInfo").filter(has_text=editing.username)).to_have_count(1)
    expect(bob.locator(".cm-ySelectionInfo").filter(has_text=owner.username)).to_have_count(1)
    expect(ada.get_by_test_id("edited")).to_be_visible()

    vic_content = vic.get_by_test_id("strategy-editor").locator(".cm-content")
    expect(vic_content).to_have_attribute("contenteditable", "false")
    vic_content.click()
    vic.keyboard.press("Control+End")
    vic.keyboard.type("import os  # the viewer tries")
    vic.keyboard.press("Control+a")
    vic.keyboard.press("Delete")
    ada.keyboard.type("# still live")
    ada.keyboard.press("Escape")
    ada.keyboard.press("Enter")
    live = f"{top}\n# still live\n{SMA}{bottom}"
    shows(vic, live, "the viewer seeing the owner's next edit")
    eventually(lambda: stored_text(app_settings, public_id) == live, "the server holding only writers' edits")
    assert doc_text(ada) == live

    bob.get_by_label("Version message").fill("Notes from both of us")
    bob.get_by_role("button", name="Save version").click()
    expect(bob.get_by_test_id("strategy-message")).to_have_text("Saved version 2.")
    with db.session(app_settings) as unit:
        reader = user_of(unit, owner.username).id
        strategy = service.strategy_by_public_id(session=unit, public_id=public_id, user_id=reader)
        assert strategy.latest_version == 2
        saved = service.get_version(session=unit, strategy=strategy, user_id=reader, number=2)
        assert saved.source == live

    ada.get_by_role("button", name="Restore version 1").click()
    expect(ada.get_by_test_id("strategy-message")).to_have_text("Restored version 1 as version 3.")
    for tab in (ada, bob, vic):
        shows(tab, SMA, "every editor showing the restored version")
    expect(ada.get_by_test_id("edited")).to_have_count(0)


def test_edits_outlive_a_restart_of_the_app(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("restart-var")
    settings = Settings(var_dir=folder)
    username = f"keeper-{uuid.uuid4().hex[:8]}"
    email = f"{username}@example.com"
    mark = uuid.uuid4().hex[:6]
    stored, unsent = f"# stored {mark}", f"  # typed just before the stop {mark}"

    with serve_app(folder) as app:
        token = open_session(settings, email, username, new=True)
        public_id = make_strategy(settings, username, SMA)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": app.url, "sameSite": "Lax"}])
        tab = context.new_page()
        tab.set_default_timeout(30_000)
        tab.goto(f"{app.url}/strategies/{public_id}")
        synced_editor(tab)
        tab.get_by_test_id("strategy-editor").locator(".cm-content").click()
        tab.keyboard.press("Control+End")
        tab.keyboard.type(stored)
        eventually(lambda: stored_text(settings, public_id).endswith(stored), "the edit being stored")
        tab.keyboard.type(unsent)
        eventually(lambda: doc_text(tab).endswith(unsent), "the last keystrokes in the editor")
        time.sleep(0.3)  # on the wire to the server; the stop stores what the room has
        context.close()
    db.dispose_engines()
    assert stored_text(settings, public_id) == SMA + stored + unsent

    with serve_app(folder) as app:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": app.url, "sameSite": "Lax"}])
        tab = context.new_page()
        tab.set_default_timeout(30_000)
        tab.goto(f"{app.url}/strategies/{public_id}")
        synced_editor(tab)
        shows(tab, SMA + stored + unsent, "the editor showing every edit again")
        expect(tab.get_by_test_id("edited")).to_be_visible()
        context.close()
    db.dispose_engines()


def test_a_run_one_person_starts_is_seen_live_by_the_other_with_results_errors_and_a_heatmap(
    join: Join, app_server: RunningApp, app_settings: Settings
) -> None:
    owner = join("runner")
    other = join("watcher")
    public_id = make_strategy(app_settings, owner.username, SLOW, **{other.username: CollaboratorRole.EDITOR})
    ada = open_strategy(owner, app_server, public_id)
    bob = open_strategy(other, app_server, public_id)
    expect(ada.get_by_test_id("param-row")).to_have_count(3)
    expect(ada.get_by_label("spin", exact=True)).to_have_value("60000")
    expect(ada.get_by_label("Symbols", exact=True)).to_have_value("GOOG")

    # A backtest the owner starts: the other page follows its progress, then both show the results.
    ada.get_by_test_id("run-button").click()
    expect(bob.get_by_test_id("run-started-by")).to_contain_text(f"Backtest started by {owner.username}")
    expect(bob.get_by_test_id("run-progress")).to_be_visible()
    expect(bob.get_by_test_id("run-status")).to_have_text("running")
    for tab in (ada, bob):
        expect(tab.get_by_test_id("run-status")).to_have_text("succeeded", timeout=60_000)
        expect(tab.get_by_test_id("verified-figures")).to_contain_text("%")
        expect(tab.get_by_test_id("stats-table")).to_contain_text("Sharpe Ratio")
        expect(tab.get_by_test_id("trades-table").locator("tbody tr").first).to_be_visible()
        expect(tab.get_by_test_id("run-summary")).to_contain_text("Return [%]")
        expect(tab.get_by_test_id("run-verified")).to_have_text(
            "Recorded as the verified backtest of version 1."
        )
        expect(tab.get_by_test_id("run-progress")).to_have_count(0)
    strategy = strategy_of(app_settings, owner.username, public_id)
    assert strategy.verified_version == 1
    assert (strategy.verified_run_id or "").startswith(f"{public_id}.")

    # The other person breaks the strategy and runs it: both see the error, marked on its line.
    replace_all(bob, BROKEN)
    shows(ada, BROKEN, "the owner seeing the broken draft")
    expect(bob.get_by_test_id("param-row")).to_have_count(2)
    bob.get_by_test_id("run-button").click()
    for tab in (ada, bob):
        expect(tab.get_by_test_id("run-failure")).to_contain_text("ZeroDivisionError", timeout=60_000)
        marked = tab.get_by_test_id("strategy-editor").locator(".cm-line").nth(BROKEN_LINE - 1)
        expect(marked.locator(".cm-lintRange-error")).to_have_count(1)
        expect(tab.get_by_test_id("stats-table")).to_have_count(0)

    # The owner fixes it and optimises two parameters: both see the heatmap; the best goes into the form.
    replace_all(ada, SMA)
    shows(bob, SMA, "the other page seeing the fix")
    ada.get_by_role("radio", name="Optimise").click()
    for name, (start, stop, step) in {"fast": ("5", "15", "5"), "slow": ("20", "40", "10")}.items():
        ada.get_by_label(f"{name} from").fill(start)
        ada.get_by_label(f"{name} to").fill(stop)
        ada.get_by_label(f"{name} step").fill(step)
    ada.get_by_test_id("run-button").click()
    expect(bob.get_by_test_id("run-started-by")).to_contain_text(f"Optimisation started by {owner.username}")
    for tab in (ada, bob):
        expect(tab.get_by_test_id("run-status")).to_have_text("succeeded", timeout=60_000)
        expect(tab.get_by_test_id("heatmap").locator("td")).to_have_count(9)
        expect(tab.get_by_test_id("heatmap").locator('td[data-best="best"]')).to_have_count(1)
        expect(tab.get_by_test_id("best-params")).to_contain_text("Best of 9 parameter sets")
    best = ada.get_by_test_id("best-params").inner_text()
    ada.get_by_test_id("apply-best").click()
    fast = ada.get_by_label("fast", exact=True)
    expect(fast).to_be_visible()
    assert f"fast = {fast.input_value()}" in best

    ada.get_by_test_id("run-button").click()
    expect(ada.get_by_test_id("run-status")).to_have_text("succeeded", timeout=60_000)
    expect(bob.get_by_test_id("stats-table")).to_contain_text("Sharpe Ratio")
    expect(ada.get_by_test_id("backtest-result")).to_contain_text(f"fast={fast.input_value()}")
    ARTIFACTS.mkdir(exist_ok=True)
    height = ada.evaluate("() => document.documentElement.scrollHeight")
    ada.set_viewport_size({"width": 1400, "height": height})  # the whole page, the header on top
    ada.screenshot(path=str(Path(ARTIFACTS) / "workspace-run.png"))

    # A walk-forward: fitted on each training window, scored on the next; both see the folds.
    ada.set_viewport_size({"width": 1400, "height": 1000})
    ada.get_by_role("radio", name="Optimise").click()
    ada.get_by_label("Search method").click()
    ada.get_by_role("option", name="Walk-forward").click()
    ada.get_by_label("Walk-forward folds").fill("3")
    ada.get_by_test_id("run-button").click()
    for tab in (ada, bob):
        expect(tab.get_by_test_id("run-status")).to_have_text("succeeded", timeout=90_000)
        expect(tab.get_by_test_id("walk-forward-folds").locator("tbody tr")).to_have_count(3)
        expect(tab.get_by_test_id("best-params")).to_contain_text("3 walk-forward folds")
