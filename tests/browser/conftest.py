"""Browser tests: the real app in production mode on a free port, driven by Playwright in Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from quanta.testing.services import free_port

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
APP_START_TIMEOUT = 420.0
ARTIFACTS = ROOT / "test-artifacts"


@dataclass(frozen=True)
class RunningApp:
    """The app under test: its base URL and the QUANTA_* environment it runs with."""

    url: str
    env: dict[str, str]


def app_environment(var_dir: Path, port: int) -> dict[str, str]:
    """The environment the app runs with: tools from the project, data under ``var_dir``."""
    tools = ROOT / ".tools"
    env = {
        **os.environ,
        "QUANTA_VAR_DIR": str(var_dir),
        "REFLEX_DIR": str(tools / "reflex"),
        "REFLEX_BUN_PATH": str(tools / "node" / "bin" / "bun"),
        "BUN_INSTALL_CACHE_DIR": str(tools / "bun-cache"),
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_CHECK_LATEST_VERSION": "false",
        "PATH": f"{tools / 'node' / 'bin'}:{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    }
    env.pop("QUANTA_REDIS_URL", None)
    env["PORT"] = str(port)
    return env


def _wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + APP_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the app exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1.0)
    pytest.fail(f"the app did not serve within {APP_START_TIMEOUT:.0f}s:\n{log.read_text()[-4000:]}")


@contextmanager
def serve_app(var_dir: Path, **extra_env: str) -> Iterator[RunningApp]:
    """Load the bundled data into ``var_dir`` and serve the app there with `reflex run --env prod`."""
    ensure_tools_present()
    port = free_port()
    env = {**app_environment(var_dir, port), **extra_env}
    subprocess.run(
        [sys.executable, "-m", "quanta.cli", "data", "load"],
        env=env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    log = var_dir / "app.log"
    reflex = str(Path(sys.executable).parent / "reflex")
    command = [reflex, "run", "--env", "prod", "--frontend-port", str(port), "--backend-port", str(port)]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(url, process, log)
        yield RunningApp(url=url, env=env)
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """The app on the embedded default (SQLite, DuckDB, in-memory state), once per session."""
    with serve_app(tmp_path_factory.mktemp("app-var")) as app:
        yield app


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make system` (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
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


def ensure_tools_present() -> None:
    """Fail early with the fix when the frontend toolchain is missing."""
    if shutil.which("bun", path=str(ROOT / ".tools" / "node" / "bin")) is None:
        pytest.fail("bun is missing: run `make tools`")
