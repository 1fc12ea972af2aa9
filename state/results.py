"""State of the results page: saved runs, one run's figures, and running a bundled example."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from typing import Any

import reflex as rx

from quanta import results_view
from quanta.examples import catalog
from quanta.runs import RunNotFoundError, run_store
from quanta.settings import get_settings
from state.market import market

EXAMPLE_TIMEOUT_SECONDS = 300


class ResultsState(rx.State):
    """The run list, the selected run's view model, and example runs in progress."""

    runs: list[dict[str, str]] = []
    examples: list[dict[str, str]] = []
    run_id: str = ""
    summary: dict[str, str] = {}
    stats: list[dict[str, str]] = []
    equity: dict[str, Any] = {}
    drawdown: dict[str, Any] = {}
    candles: dict[str, list[float]] = {}
    markers: list[dict[str, Any]] = []
    trades: list[dict[str, str]] = []
    receipt: list[dict[str, str]] = []
    running: str = ""
    error: str = ""

    @rx.event
    def on_load(self) -> None:
        """List runs and examples; open the run named in the URL (?run=…)."""
        self.examples = [
            {"name": e.name, "title": e.title, "description": e.description, "symbols": ", ".join(e.symbols)}
            for e in catalog()
        ]
        self._list()
        wanted = str(self.router.url.query_parameters.get("run", "") or "")
        if wanted:
            self._show(wanted)
        else:
            self.run_id = ""

    @rx.event
    def show(self, run_id: str) -> rx.event.EventSpec:
        """Open one run (and put it in the URL, so it can be shared)."""
        return rx.redirect(f"/results?run={run_id}")

    @rx.event(background=True)
    async def run_example(self, name: str) -> AsyncIterator[rx.event.EventSpec]:
        """Backtest a bundled example in a separate process, then open its run."""
        async with self:
            if self.running:
                return
            self.running = name
            self.error = ""
        run_id, problem = await _backtest_example(name)
        async with self:
            self.running = ""
            self.error = problem
            self._list()
        if run_id:
            yield rx.redirect(f"/results?run={run_id}")

    def _list(self) -> None:
        with run_store(get_settings()) as runs:
            self.runs = results_view.run_rows(runs=runs, limit=50)

    def _show(self, run_id: str) -> None:
        try:
            with run_store(get_settings(), read_only=True) as runs:
                detail = results_view.run_detail(runs=runs, market=market(), run_id=run_id)
        except RunNotFoundError as exc:
            self.error = str(exc)
            return
        self.run_id = detail.summary["run_id"]
        self.summary = detail.summary
        self.stats = detail.stats
        self.equity = detail.equity
        self.drawdown = detail.drawdown
        self.candles = detail.candles  # type: ignore[assignment]
        self.markers = detail.markers
        self.trades = detail.trades
        self.receipt = detail.receipt


async def _backtest_example(name: str) -> tuple[str, str]:
    """Run ``quanta backtest`` on the example; (run id, "") on success, ("", message) otherwise."""
    example = next((e for e in catalog() if e.name == name), None)
    if example is None:
        return "", f"There is no example called {name!r}."
    command = [sys.executable, "-m", "quanta.cli", "backtest", str(example.path), "--json"]
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=EXAMPLE_TIMEOUT_SECONDS)
    except TimeoutError:
        process.kill()
        return "", f"The example did not finish within {EXAMPLE_TIMEOUT_SECONDS} s."
    if process.returncode != 0:
        lines = err.decode(errors="replace").strip().splitlines()
        return "", f"The backtest failed: {lines[-1]}" if lines else "The backtest failed."
    return str(json.loads(out)["run_id"]), ""
