"""State of the strategy page's run panel: the run form, the run everyone on the page sees, and its results.

- ``StrategyRunShared`` (an ``rx.SharedState``) is linked per strategy: everyone on a strategy's page who
  may read it shares the current run's job id, status, progress, message and headline figures. One
  background event (``watch``) polls the job every ``POLL_SECONDS`` and writes them there, so every
  linked page sees them live; it records the verified backtest when a run of the latest saved version
  succeeds. A page linking to a run nobody watches any more (its watcher's page went elsewhere, or the
  app restarted) takes the watch over.
- ``StrategyRunState`` is each page's own: the form (generated from the strategy classes of the editor's
  text, read with ``ast`` — the source never runs in the web process) and the result view model,
  loaded from the job by every page when the shared run finishes (``sync``).

Owners and editors start and cancel runs; viewers watch. Every handler resolves the session again and
calls a ``quanta.workspace.runs`` service that checks the caller's access.
"""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
import time
from datetime import date
from typing import Any

import reflex as rx
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from quanta import data, db, results_view
from quanta.accounts import AccountsError
from quanta.accounts import service as accounts
from quanta.accounts.models import User
from quanta.data.errors import UnknownSymbolError
from quanta.explorer import parse_day
from quanta.indicators import available_indicators
from quanta.runs import HEADLINE, display
from quanta.sandbox import Job, JobFinishedError, JobKind, JobRequest, JobStatus
from quanta.workspace import StrategyClassInfo, default_symbols, runs, strategy_classes
from quanta.workspace.access import strategy_by_public_id
from quanta.workspace.errors import InvalidInput, InvalidSource
from quanta.workspace.models import VerifiedBacktest
from state.auth import AuthState
from state.market import market
from state.views import invalid, text
from state.workspace import StrategyState, editing_text

POLL_SECONDS = 0.3
"""How often the watcher reads the running job."""
STALE_SECONDS = 3.0
"""A run whose watcher has not written for this long (wall clock: workers share it) is taken over by the
next page that links."""
DEFAULT_SYMBOL = "GOOG"
DEFAULT_CASH = "10000"
MAX_CASH = 1e12
ACTIVE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
FINISHED = (JobStatus.SUCCEEDED.value, JobStatus.FAILED.value, JobStatus.CANCELLED.value)
MAXIMIZE_CHOICES = [
    "Sharpe Ratio",
    "Return [%]",
    "Sortino Ratio",
    "Calmar Ratio",
    "Equity Final [$]",
    "Win Rate [%]",
    "SQN",
]
SEARCH_METHODS = {"grid": "Grid", "random": "Random", "bayes": "Bayesian", "walk-forward": "Walk-forward"}
"""The optimisation methods the form offers (the engine's), with their labels."""
API_WORDS = [
    "Strategy",
    "crossover",
    "crossed_above",
    "crossed_below",
    "crossovers",
    "self.I",
    "self.buy",
    "self.sell",
    "self.position",
    "self.position.close",
    "self.position.size",
    "self.data",
    "self.data.open",
    "self.data.high",
    "self.data.low",
    "self.data.close",
    "self.data.volume",
    "self.equity",
    "self.trades",
    "self.orders",
    "SYMBOLS",
]
"""What the editor completes besides Python's own words and every indicator name."""


def completion_words() -> list[str]:
    """Quanta's strategy API and every indicator of ``quanta.indicators`` (for the editor)."""
    return [*API_WORDS, *sorted(available_indicators())]


def room_token(public_id: str) -> str:
    """The shared-state token of a strategy's page (Reflex tokens may not contain ``_``)."""
    return "strategy-run-" + public_id.encode().hex()


@dataclasses.dataclass(frozen=True)
class ParamField:
    """One parameter of the run form: its default as text and, for numbers, a range to optimise over."""

    name: str = ""
    kind: str = "str"
    default: str = ""
    value: str = ""
    numeric: bool = False
    start: str = ""
    stop: str = ""
    step: str = ""


@dataclasses.dataclass(frozen=True)
class HeatCell:
    """One cell of the optimisation heatmap: the score as text, its colours, whether it is the best."""

    text: str = ""
    color: str = ""
    ink: str = ""
    best: str = ""


@dataclasses.dataclass(frozen=True)
class HeatRow:
    """One row of the heatmap: the second parameter's value and a cell per value of the first."""

    label: str = ""
    cells: list[HeatCell] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class RunView:
    """What the shared run shows of a job: its status and headline figures."""

    status: str
    progress: float
    message: str
    kind: str
    summary: list[dict[str, str]]
    verified: str = ""


def param_fields(info: StrategyClassInfo) -> list[ParamField]:
    """The form's fields for a strategy class's parameters (bools are not numeric)."""
    fields = []
    for name, value in info.params.items():
        kind = type(value).__name__
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        start, stop, step = runs.default_range(value) if numeric else ("", "", "")  # type: ignore[arg-type]
        fields.append(
            ParamField(
                name=name,
                kind=kind,
                default=value_text(value),
                value=value_text(value),
                numeric=numeric,
                start=str(start),
                stop=str(stop),
                step=str(step),
            )
        )
    return fields


def value_text(value: object) -> str:
    """A parameter's value as the form shows it (``true``/``false`` for booleans)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def run_view(job: Job, verified: VerifiedBacktest | None = None) -> RunView:
    """The shared view of a job: status, progress, message, and what it found or why it failed."""
    summary: list[dict[str, str]] = []
    result = job.result or {}
    error = job.error
    if job.status is JobStatus.SUCCEEDED and job.kind is JobKind.BACKTEST:
        stats = result.get("stats") or {}
        summary = [{"name": name, "value": display(stats.get(name))} for name in HEADLINE]
    elif job.status is JobStatus.SUCCEEDED:
        best = result.get("best_params") or {}
        summary = [
            {"name": "Best parameters", "value": ", ".join(f"{k}={v}" for k, v in best.items()) or "none"},
            {"name": "Parameter sets", "value": str(result.get("evaluated") or 0)},
        ]
    elif error is not None:
        summary = [{"name": error.kind.value, "value": str(error)}]
    note = f"Recorded as the verified backtest of version {verified.version}." if verified else ""
    return RunView(
        status=job.status.value,
        progress=1.0 if job.status.finished else float(job.progress),
        message=job.message or job.status.value,
        kind=job.kind.value,
        summary=summary,
        verified=note,
    )


def _read_run(public_id: str, job_id: str, user_id: int | None) -> RunView | None:
    """The run as the watcher sees it now (recording the verified backtest once it succeeded); None
    when the reader may no longer see it."""
    try:
        with db.session() as unit:
            strategy = strategy_by_public_id(session=unit, public_id=public_id, user_id=user_id)
            job = runs.run_of(session=unit, strategy=strategy, user_id=user_id, job_id=job_id)
            verified = None
            if job.status.finished:
                verified = runs.record_run(session=unit, strategy=strategy, job=job)
            return run_view(job, verified)
    except AccountsError:
        return None


def _latest_run(public_id: str, user_id: int | None) -> tuple[Job, str] | None:
    """The strategy's newest run and who started it, for a page that links to an empty room."""
    with db.session() as unit:
        strategy = strategy_by_public_id(session=unit, public_id=public_id, user_id=user_id)
        job = runs.latest_run(session=unit, strategy=strategy, user_id=user_id)
        if job is None:
            return None
        owner = unit.get(User, job.owner_id)
        name = accounts.get_profile(session=unit, user=owner).username if owner is not None else ""
        unit.expunge(job)
        return job, name


class StrategyRunShared(rx.SharedState):
    """What everyone on one strategy's page shares (linked to ``room_token``): the current run, and the
    newest version someone saved (so every page's version list follows)."""

    version: int = 0
    job_id: str = ""
    kind: str = ""
    status: str = ""
    progress: float = 0.0
    message: str = ""
    started_by: str = ""
    summary: list[dict[str, str]] = []
    verified: str = ""
    _public_id: str = ""
    _pending_watch: str = ""
    _watcher: str = ""
    _watcher_user: int | None = None
    _polled_at: float = 0.0

    @rx.var
    def active(self) -> bool:
        """Whether the run is queued or running."""
        return self.status in ACTIVE

    @rx.var
    def percent(self) -> int:
        """Progress in per cent."""
        return round(100 * self.progress)

    @rx.event
    async def link(self) -> Any:
        """Join the run room of the strategy on this page — only when the person may read it."""
        page = await self.get_state(StrategyState)
        if not page.strategy_id or not page.role:
            return await self._unlink() if self._linked_to else None
        shared = await self._link_to(room_token(page.strategy_id))
        shared._public_id = page.strategy_id
        if not shared.job_id:
            try:
                found = await asyncio.to_thread(_latest_run, page.strategy_id, page._user_id)
            except AccountsError:
                found = None
            if found is not None:
                job, name = found
                shared.job_id, shared.started_by = job.public_id, name
                shared._apply(run_view(job))
        if shared.status in ACTIVE and time.time() - shared._polled_at > STALE_SECONDS:
            return shared._take_watch(page._user_id)
        return None

    @rx.event
    async def announce_version(self) -> None:
        """Tell every page here that a version was saved (their version lists follow)."""
        page = await self.get_state(StrategyState)
        if self._linked_to and page.latest_version > self.version:
            self.version = page.latest_version

    @rx.event(background=True)
    async def watch(self, job_id: str) -> None:
        """Poll the run ``job_id`` until it ends, writing its progress here for every linked page.

        Only the watch the server asked for runs (a page replaying this event changes nothing), as the
        room's one watcher: a newer run or watcher stops it.
        """
        async with self:
            if self._pending_watch != job_id or self.job_id != job_id:
                return
            self._pending_watch = ""
            watcher = self._watcher = secrets.token_urlsafe(16)
            self._polled_at = time.time()
        while True:
            await asyncio.sleep(POLL_SECONDS)
            async with self:
                if self.job_id != job_id or self._watcher != watcher:
                    return
                public_id, user_id = self._public_id, self._watcher_user
            try:
                view = await asyncio.to_thread(_read_run, public_id, job_id, user_id)
            except SQLAlchemyError:
                continue  # the database hiccupped: read again at the next tick
            async with self:
                if self.job_id != job_id or self._watcher != watcher:
                    return
                self._polled_at = time.time()
                if view is None:
                    self.status, self.message = JobStatus.FAILED.value, "This run can no longer be read."
                    return
                self._apply(view)
                if view.status in FINISHED:
                    self._watcher = ""
                    return

    def _begin(self, job: Job, *, started_by: str, user_id: int | None) -> rx.event.EventSpec:
        """Show a run just started, and watch it."""
        self.job_id, self.started_by = job.public_id, started_by
        self._apply(run_view(job))
        return self._take_watch(user_id)

    def _take_watch(self, user_id: int | None) -> rx.event.EventSpec:
        self._pending_watch, self._watcher, self._watcher_user = self.job_id, "", user_id
        self._polled_at = time.time()
        return StrategyRunShared.watch(self.job_id)

    def _apply(self, view: RunView) -> None:
        self.kind, self.status, self.progress = view.kind, view.status, view.progress
        self.message, self.summary = view.message, view.summary
        self.verified = view.verified or (self.verified if view.status == JobStatus.SUCCEEDED.value else "")


class StrategyRunState(AuthState):
    """One page's run form and the result view model of the room's finished run."""

    classes: list[str] = []
    class_name: str = ""
    fields: list[ParamField] = []
    form_note: str = ""
    form_key: int = 0
    symbols: str = DEFAULT_SYMBOL
    known_symbols: list[str] = []
    mode: str = JobKind.BACKTEST.value
    maximize: str = MAXIMIZE_CHOICES[0]
    method: str = "grid"
    error: str = ""

    shown_kind: str = ""
    failure: str = ""
    diagnostics: list[dict[str, Any]] = []
    summary: dict[str, str] = {}
    stats: list[dict[str, str]] = []
    equity: dict[str, Any] = {}
    drawdown: dict[str, Any] = {}
    candles: dict[str, list[float]] = {}
    markers: list[dict[str, Any]] = []
    trades: list[dict[str, str]] = []
    receipt: list[dict[str, str]] = []
    best_params: list[dict[str, str]] = []
    best_stats: list[dict[str, str]] = []
    heat_x: str = ""
    heat_y: str = ""
    heat_columns: list[str] = []
    heat_rows: list[HeatRow] = []
    evaluated: int = 0
    folds: list[dict[str, str]] = []
    _infos: list[StrategyClassInfo] = []
    _defaults_from: str = ""
    _shown: str = ""

    @rx.var
    def optimizing(self) -> bool:
        """Whether the form searches parameters instead of running one backtest."""
        return self.mode == JobKind.OPTIMIZE.value

    # ---- the form -------------------------------------------------------------------------------------

    @rx.event
    async def prepare(self) -> None:
        """Build the form from the strategy's latest text, and forget the last page's results."""
        page = await self.get_state(StrategyState)
        self._infos, self.classes, self.class_name, self.fields, self.form_note = [], [], "", [], ""
        self.symbols, self._defaults_from, self.error = DEFAULT_SYMBOL, "", ""
        self.mode, self.maximize = JobKind.BACKTEST.value, MAXIMIZE_CHOICES[0]
        self._clear_result()
        self._shown = ""
        if not self.known_symbols:
            self.known_symbols = _symbols()
        self._read_source(page.source)

    @rx.event
    def source_changed(self, source: str) -> None:
        """Rebuild the form as the editor's text changes (the last good parse stays on a syntax error)."""
        self._read_source(source)

    @rx.event
    def set_class(self, name: str) -> None:
        """Run another strategy class of the source."""
        for info in self._infos:
            if info.name == name:
                self.class_name, self.fields = name, param_fields(info)
                self.form_key += 1

    @rx.event
    def set_mode(self, mode: str | list[str]) -> None:
        """Backtest once, or optimise the numeric parameters."""
        wanted = mode if isinstance(mode, str) else (mode[0] if mode else "")
        if wanted in (JobKind.BACKTEST.value, JobKind.OPTIMIZE.value):
            self.mode = wanted

    @rx.event
    def set_method(self, method: str) -> None:
        """How an optimisation searches: every set, random or Bayesian draws, or walk-forward."""
        if method in SEARCH_METHODS:
            self.method = method

    @rx.event
    def set_maximize(self, name: str) -> None:
        """The statistic an optimisation maximises."""
        if name in MAXIMIZE_CHOICES:
            self.maximize = name

    @rx.event
    def apply_best(self) -> None:
        """Put the best parameters of the optimisation into the form, ready to backtest."""
        best = {row["name"]: row["value"] for row in self.best_params}
        self.fields = [
            dataclasses.replace(field, value=value_text(best[field.name])) if field.name in best else field
            for field in self.fields
        ]
        self.mode = JobKind.BACKTEST.value
        self.form_key += 1

    def _read_source(self, source: str) -> None:
        if not source.strip():
            return
        try:
            infos = strategy_classes(source)
        except InvalidSource as exc:
            self.form_note = f"The form shows the last version that parsed. {exc}"
            return
        self.form_note = "" if infos else "No Strategy subclass in the source yet."
        self._infos = infos
        names = [info.name for info in infos]
        if names != self.classes:
            self.classes = names
        if self.class_name not in names:
            self.class_name = _default_class(infos)
        chosen = next((info for info in infos if info.name == self.class_name), None)
        fields = param_fields(chosen) if chosen is not None else []
        shape = [(f.name, f.kind) for f in fields]
        if shape != [(f.name, f.kind) for f in self.fields] or self._defaults_changed(chosen):
            self.fields = fields
            self.form_key += 1
        symbols = default_symbols(source)
        wanted = ", ".join(symbols) if symbols else DEFAULT_SYMBOL
        if wanted != self._defaults_from:
            self.symbols, self._defaults_from = wanted, wanted
            self.form_key += 1

    def _defaults_changed(self, chosen: StrategyClassInfo | None) -> bool:
        if chosen is None:
            return False
        shown = {f.name: f.default for f in self.fields}
        return any(shown.get(name) != value_text(value) for name, value in chosen.params.items())

    # ---- running ------------------------------------------------------------------------------------

    @rx.event
    async def start(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Start a backtest (or an optimisation) of the editor's text, for everyone on the page to see."""
        self.error = ""
        page = await self.get_state(StrategyState)
        shared = await self.get_state(StrategyRunShared)
        if shared.status in ACTIVE:
            self.error = "A run is in progress: wait for it, or cancel it."
            return None
        source = await asyncio.to_thread(editing_text, page.strategy_id, page.source)
        try:
            request = self._request(form, source)
            with db.session() as unit:
                user = self._user(unit)
                if user is None:
                    return self._to_sign_in()
                strategy = strategy_by_public_id(session=unit, public_id=page.strategy_id, user_id=user.id)
                job = runs.start_run(session=unit, actor=user, strategy=strategy, request=request)
                unit.flush()
                unit.refresh(job)
                unit.expunge(job)
        except (AccountsError, UnknownSymbolError) as exc:
            self.error = str(exc)
            return None
        except ValidationError as exc:
            self.error = invalid(exc)
            return None
        self._clear_result()
        shared._public_id = page.strategy_id
        return shared._begin(job, started_by=self.viewer.username, user_id=self._user_id)

    @rx.event
    async def cancel(self) -> None:
        """Cancel the room's run (owners and editors, whoever started it)."""
        self.error = ""
        page = await self.get_state(StrategyState)
        shared = await self.get_state(StrategyRunShared)
        if not shared.job_id:
            return
        try:
            with db.session() as unit:
                user = self._user(unit)
                if user is None:
                    self.error = "Sign in to cancel runs."
                    return
                strategy = strategy_by_public_id(session=unit, public_id=page.strategy_id, user_id=user.id)
                runs.cancel_run(session=unit, actor=user, strategy=strategy, job_id=shared.job_id)
        except (AccountsError, JobFinishedError) as exc:
            self.error = str(exc)

    def _request(self, form: dict[str, Any], source: str) -> JobRequest:
        """The job the form asks for; ``InvalidInput`` names the field that is wrong."""
        info = next((i for i in self._infos if i.name == self.class_name), None)
        if info is None:
            raise InvalidInput("class", "The source has no Strategy subclass to run.")
        symbols = _symbol_list(text(form, "symbols"))
        start, end = _day(text(form, "start"), "start"), _day(text(form, "end"), "end")
        cash = _cash(text(form, "cash") or DEFAULT_CASH)
        _check_symbols(symbols)
        common: dict[str, Any] = {
            "source": source,
            "class_name": info.name,
            "symbols": symbols,
            "start": start,
            "end": end,
            "config": {"cash": cash},
        }
        if self.mode != JobKind.OPTIMIZE.value:
            params = {
                name: runs.parse_param(name, str(form.get(f"param.{name}", default)), default)
                for name, default in info.params.items()
                if f"param.{name}" in form
            }
            return JobRequest(kind=JobKind.BACKTEST, params=params, **common)
        ranges = {
            field.name: runs.param_values(
                field.name,
                start=str(form.get(f"from.{field.name}", "")),
                stop=str(form.get(f"to.{field.name}", "")),
                step=str(form.get(f"step.{field.name}", "")),
                integer=field.kind == "int",
            )
            for field in self.fields
            if field.numeric and form.get(f"use.{field.name}")
        }
        drawn = self.method in ("random", "bayes")
        space = runs.search_space(ranges, exhaustive=not drawn)
        search: dict[str, Any] = {"method": self.method}
        if drawn:
            search["trials"] = runs.search_trials(text(form, "trials") or "50")
        if self.method == "walk-forward":
            search["folds"] = runs.search_folds(text(form, "folds") or "4")
        return JobRequest(kind=JobKind.OPTIMIZE, space=space, maximize=self.maximize, **search, **common)

    # ---- the result -----------------------------------------------------------------------------------

    @rx.event
    async def sync(self, _run: str = "") -> rx.event.EventSpec | None:
        """Show the room's run: results once it has finished (each page loads them from the job itself,
        checking that this person may read the strategy), nothing of an older run while it runs; a run
        that became the verified backtest shows the strategy's header again."""
        shared = await self.get_state(StrategyRunShared)
        page = await self.get_state(StrategyState)
        key = f"{shared.job_id}|{shared.status}"
        if key == self._shown:
            return None
        self._shown = key
        if shared.status not in FINISHED or not shared.job_id or not page.strategy_id:
            self._clear_result()
            return None
        symbols = self.symbols
        try:
            with db.session() as unit:
                self._resolve(unit)
                user_id = self._user_id
                strategy = strategy_by_public_id(session=unit, public_id=page.strategy_id, user_id=user_id)
                job = runs.run_of(session=unit, strategy=strategy, user_id=user_id, job_id=shared.job_id)
                unit.expunge(job)
        except AccountsError as exc:
            self._clear_result()
            self.failure = str(exc)
            return None
        self._show_job(job, list(job.request.symbols) or [symbols])
        return StrategyState.reshow if shared.verified else None

    def _show_job(self, job: Job, symbols: list[str]) -> None:
        self._clear_result()
        error = job.error
        if error is not None:
            self.shown_kind = "failed"
            self.failure = f"{error.kind.value}: {error}"
            if error.line is not None:
                self.diagnostics = [{"line": error.line, "message": f"{error.kind.value}: {error.message}"}]
            return
        result = job.result or {}
        if job.kind is JobKind.OPTIMIZE:
            names = list((job.request.space or {}).keys())
            found = results_view.optimize_detail(result=result, names=names)
            self.shown_kind = JobKind.OPTIMIZE.value
            self.best_params, self.best_stats = found.best_params, found.stats
            self.evaluated = found.evaluated
            self.folds = found.folds
            heat = found.heatmap
            self.heat_x, self.heat_y = str(heat.get("x", "")), str(heat.get("y", ""))
            self.heat_columns = list(heat.get("columns", []))
            self.heat_rows = [
                HeatRow(label=row["label"], cells=[HeatCell(**cell) for cell in row["cells"]])
                for row in heat.get("rows", [])
            ]
            return
        request = job.request
        detail = results_view.job_detail(
            result=result, market=market(), symbols=symbols, start=request.start, end=request.end
        )
        self.shown_kind = JobKind.BACKTEST.value
        self.summary, self.stats = detail.summary, detail.stats
        self.trades, self.receipt = detail.trades, detail.receipt
        self.equity, self.drawdown = detail.equity, detail.drawdown
        self.candles = detail.candles  # type: ignore[assignment]
        self.markers = detail.markers

    def _clear_result(self) -> None:
        self.shown_kind, self.failure, self.diagnostics = "", "", []
        self.summary, self.stats, self.trades, self.receipt = {}, [], [], []
        self.equity, self.drawdown, self.candles, self.markers = {}, {}, {}, []
        self.best_params, self.best_stats, self.evaluated, self.folds = [], [], 0, []
        self.heat_x, self.heat_y, self.heat_columns, self.heat_rows = "", "", [], []


# ---- helpers -------------------------------------------------------------------------------------------


def _default_class(infos: list[StrategyClassInfo]) -> str:
    """The class a run picks when none is named: the last one no other class derives from."""
    return infos[-1].name if infos else ""


def _symbols() -> list[str]:
    try:
        return data.symbols(market())
    except data.MarketDataError:
        return []


def _symbol_list(value: str) -> list[str]:
    symbols = [part.strip().upper() for part in value.replace(";", ",").split(",") if part.strip()]
    if not symbols:
        raise InvalidInput("symbols", "Give at least one symbol, such as GOOG.")
    if len(symbols) > 10:
        raise InvalidInput("symbols", "Run on at most 10 symbols.")
    if len(set(symbols)) != len(symbols):
        raise InvalidInput("symbols", "A symbol is repeated.")
    return symbols


def _check_symbols(symbols: list[str]) -> None:
    for symbol in symbols:
        data.require_symbol(market(), symbol)


def _day(value: str, name: str) -> date | None:
    if not value:
        return None
    day = parse_day(value)
    if day is None:
        raise InvalidInput(name, f"The {name} date is not a date (YYYY-MM-DD).")
    return day


def _cash(value: str) -> float:
    try:
        cash = float(value.replace(",", "").replace("_", ""))
    except ValueError:
        raise InvalidInput("cash", "Cash is a number, such as 10000.") from None
    if not 0 < cash <= MAX_CASH:
        raise InvalidInput("cash", "Cash is more than 0 and at most 1e12.")
    return cash
