"""Serve the real web app for browser tests and benchmarks: production mode on a free loopback port.

The app runs as a subprocess (`reflex run --env prod`), with its databases under a given folder and the
bundled market data loaded first. Debian's Chromium is the browser that drives it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from quanta.testing.services import ServiceError, free_port

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".tools"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
START_TIMEOUT = 420.0


@dataclass(frozen=True)
class RunningApp:
    """A served app: its base URL and the environment it runs with."""

    url: str
    env: dict[str, str]


def app_environment(var_dir: Path, **settings: str) -> dict[str, str]:
    """This process's environment minus any QUANTA_* setting, plus the project's tools and ``settings``.

    Each served app builds its frontend in its own folder under ``var_dir``: a production build bakes
    the backend's address into the bundle, so apps on different ports must not share one build.
    """
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("QUANTA_")}
    return {
        **inherited,
        "QUANTA_VAR_DIR": str(var_dir),
        "REFLEX_WEB_WORKDIR": str(var_dir / "web"),
        "REFLEX_DIR": str(TOOLS / "reflex"),
        "REFLEX_BUN_PATH": str(TOOLS / "node" / "bin" / "bun"),
        "BUN_INSTALL_CACHE_DIR": str(TOOLS / "bun-cache"),
        "REFLEX_TELEMETRY_ENABLED": "false",
        "REFLEX_CHECK_LATEST_VERSION": "false",
        "PATH": f"{TOOLS / 'node' / 'bin'}:{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        **settings,
    }


@contextmanager
def serve_app(var_dir: Path, **settings: str) -> Iterator[RunningApp]:
    """Load the bundled data into ``var_dir`` and serve the app until the block ends."""
    if shutil.which("bun", path=str(TOOLS / "node" / "bin")) is None:
        msg = "bun is missing: run `make tools`"
        raise ServiceError(msg)
    port = free_port()
    env = app_environment(var_dir, **settings)
    load = [sys.executable, "-m", "quanta.cli", "data", "load"]
    subprocess.run(load, env=env, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
    log = var_dir / "app.log"
    reflex = str(Path(sys.executable).parent / "reflex")
    command = [reflex, "run", "--env", "prod", "--frontend-port", str(port), "--backend-port", str(port)]
    with log.open("wb") as sink:
        process = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(url, process, log)
        yield RunningApp(url=url, env=env)
    finally:
        _stop(process)


def _wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            msg = f"the app exited with {process.returncode}:\n{log.read_text()[-4000:]}"
            raise ServiceError(msg)
        try:
            with urllib.request.urlopen(f"{url}/api/health", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1.0)
    msg = f"the app did not serve within {START_TIMEOUT:.0f}s:\n{log.read_text()[-4000:]}"
    raise ServiceError(msg)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
