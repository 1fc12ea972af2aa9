"""Backtests submitted through the API: check, store, run, read back by their owner.

``plan_backtest`` checks a submission (example or own source, parameters, symbols, options) and stores
it as queued. ``BacktestRunner`` runs a bundled example on a small pool of threads, and hands your own
source to the sandbox's job queue (``quanta.sandbox``): it never runs in the web process. The job has the
backtest's id; ``backtest_of`` copies its outcome onto the backtest when it ends and returns the backtest
to its owner and to no one else.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from ibis.backends import BaseBackend  # type: ignore[import-untyped]
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlmodel import Session, col, select

from quanta import db
from quanta.accounts.errors import NotFound
from quanta.api.deps import MarketAccess, Principal
from quanta.api.models import ApiBacktest, BacktestStatus
from quanta.api.problems import ApiProblem
from quanta.api.strategies import bundled_strategy, example_names
from quanta.data import Timeframe, require_symbol
from quanta.data.errors import MarketDataError, UnknownSymbolError, close_matches
from quanta.engine import Backtest, BacktestConfig, BacktestError
from quanta.loading import MarketData, load_market
from quanta.runs import json_value
from quanta.sandbox import (
    Job,
    JobRequest,
    JobStatus,
    SourceSyntaxError,
    WorkerPool,
    check_source,
    ensure_workers,
    submit_job,
)
from quanta.sandbox._pool import forget
from quanta.sandbox._results import backtest_json
from quanta.settings import Settings

_log = logging.getLogger(__name__)
Symbol = Annotated[str, StringConstraints(min_length=1, max_length=32, strip_whitespace=True)]
ParamValue = int | float | bool | str
MAX_PARAMS = 50


class BacktestCreate(BaseModel):
    """A backtest to run: a bundled example, or your own strategy's source, on symbols and dates."""

    model_config = ConfigDict(extra="forbid")

    example: str | None = Field(
        default=None,
        max_length=100,
        description="A bundled example's name (see GET /api/v1/strategies).",
        examples=["sma_cross"],
    )
    source: str | None = Field(
        default=None,
        max_length=200_000,
        description="Your strategy's Python source, run in the sandbox (docs/sandbox.md says what it may "
        "import). Needs `symbols`.",
    )
    class_name: str | None = Field(
        default=None,
        max_length=100,
        description="With `source`: the strategy class to run, when the source defines several.",
    )
    symbols: list[Symbol] | None = Field(
        default=None,
        min_length=1,
        max_length=10,
        description="Defaults to the example's symbols.",
        examples=[["GOOG"]],
    )
    start: date | None = Field(default=None, description="First day (inclusive); default: the first bar.")
    end: date | None = Field(default=None, description="Last day (inclusive); default: the last bar.")
    timeframe: Literal["1D", "1W", "1M"] = "1D"
    params: dict[str, ParamValue] = Field(
        default_factory=dict,
        max_length=MAX_PARAMS,
        description="Strategy parameters overriding the defaults.",
        examples=[{"fast": 10, "slow": 30}],
    )
    cash: float = Field(default=10_000.0, gt=0, le=1e12, description="Starting cash.")
    commission: float = Field(
        default=0.0, ge=0, lt=0.1, description="Commission as a fraction of traded value."
    )

    @model_validator(mode="after")
    def _one_strategy(self) -> BacktestCreate:
        if (self.example is None) == (self.source is None):
            raise ValueError("give exactly one of `example` and `source`")
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError("`start` is after `end`")
        if self.source is not None and not self.symbols:
            raise ValueError("`source` needs `symbols`")
        if self.class_name is not None and self.source is None:
            raise ValueError("`class_name` goes with `source`")
        return self


class BacktestPublic(BaseModel):
    """A backtest as its owner sees it."""

    id: str
    status: BacktestStatus
    example: str | None = Field(description="The bundled example; null for your own source.")
    class_name: str
    symbols: list[str]
    start: date | None
    end: date | None
    timeframe: str
    params: dict[str, Any]
    options: dict[str, Any]
    stats: dict[str, Any] | None = Field(description="backtesting.py's statistics once succeeded.")
    receipt: dict[str, Any] | None = Field(
        description="What makes the run reproducible (data and code hashes)."
    )
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    links: dict[str, str]

    @classmethod
    def of(cls, row: ApiBacktest) -> BacktestPublic:
        """The public view of a stored backtest."""
        base = f"/api/v1/backtests/{row.public_id}"
        return cls(
            id=row.public_id,
            status=row.status,
            example=row.example or None,
            class_name=row.class_name,
            symbols=list(row.symbols),
            start=row.start_date,
            end=row.end_date,
            timeframe=row.timeframe,
            params=dict(row.params),
            options=dict(row.options),
            stats=row.stats,
            receipt=row.receipt,
            error=row.error,
            created_at=row.created_at,
            started_at=row.started_at,
            finished_at=row.finished_at,
            links={"self": base, "trades": f"{base}/trades", "equity": f"{base}/equity"},
        )


# ---- submitting ----------------------------------------------------------------------------------------


def plan_backtest(
    *,
    session: Session,
    principal: Principal,
    backtest_in: BacktestCreate,
    market: MarketAccess,
    now: datetime,
) -> ApiBacktest:
    """Check a submission and store it as queued (the caller commits, then runs it); your own source is
    queued for the sandbox too, as a job with the backtest's id."""
    if backtest_in.source is not None:
        return _plan_source(
            session=session, principal=principal, backtest_in=backtest_in, market=market, now=now
        )
    name = backtest_in.example or ""
    found = bundled_strategy(name)
    if found is None:
        suggestions = close_matches(name, example_names())
        raise ApiProblem(
            422, f"No bundled example {name!r}.", kind="unknown-strategy", suggestions=suggestions
        )
    example, strategy = found
    try:
        params = strategy.resolve_params(backtest_in.params)
        BacktestConfig(cash=backtest_in.cash, commission=backtest_in.commission)
    except BacktestError as exc:
        raise ApiProblem(
            422, str(exc), kind="validation", errors=[{"location": "body.params", "message": str(exc)}]
        ) from exc
    symbols = list(backtest_in.symbols or example.symbols)
    _check_symbols(market, symbols)
    row = _row(
        principal=principal,
        backtest_in=backtest_in,
        example=example.name,
        class_name=example.class_name,
        symbols=symbols,
        params={key: json_value(value) for key, value in params.items()},
        now=now,
    )
    session.add(row)
    session.flush()
    return row


def _row(
    *,
    principal: Principal,
    backtest_in: BacktestCreate,
    example: str,
    class_name: str,
    symbols: list[str],
    params: dict[str, Any],
    now: datetime,
) -> ApiBacktest:
    return ApiBacktest(
        public_id="bt_" + secrets.token_urlsafe(16),
        owner_user_id=principal.user.id if principal.user is not None else None,
        owner_client_id=principal.client.id
        if principal.user is None and principal.client is not None
        else None,
        submitted_via=principal.via[:80],
        example=example,
        class_name=class_name,
        symbols=symbols,
        start_date=backtest_in.start,
        end_date=backtest_in.end,
        timeframe=backtest_in.timeframe,
        params=params,
        options={"cash": backtest_in.cash, "commission": backtest_in.commission},
        created_at=now,
    )


def _plan_source(
    *,
    session: Session,
    principal: Principal,
    backtest_in: BacktestCreate,
    market: MarketAccess,
    now: datetime,
) -> ApiBacktest:
    """Check own source statically (the sandbox checks again) and queue it as a sandbox job."""
    source = backtest_in.source or ""
    if principal.user is None or principal.user.id is None:
        raise ApiProblem(
            403,
            "Your own source runs for a person: use a personal access token, or an OAuth token a person "
            "approved.",
            kind="forbidden",
        )
    _check_source(source)
    try:
        BacktestConfig(cash=backtest_in.cash, commission=backtest_in.commission)
    except BacktestError as exc:
        raise _invalid("body", str(exc)) from exc
    symbols = list(backtest_in.symbols or [])
    _check_symbols(market, symbols)
    row = _row(
        principal=principal,
        backtest_in=backtest_in,
        example="",
        class_name=backtest_in.class_name or "",
        symbols=symbols,
        params={key: json_value(value) for key, value in backtest_in.params.items()},
        now=now,
    )
    request = JobRequest(
        source=source,
        class_name=backtest_in.class_name,
        symbols=symbols,
        start=backtest_in.start,
        end=backtest_in.end,
        timeframe=backtest_in.timeframe,
        params=backtest_in.params,
        config={"cash": backtest_in.cash, "commission": backtest_in.commission},
    )
    submit_job(session=session, owner_id=principal.user.id, request=request, public_id=row.public_id, now=now)
    session.add(row)
    session.flush()
    return row


def _check_source(source: str) -> None:
    try:
        violation = check_source(source)
    except SourceSyntaxError as exc:
        raise _invalid("body.source", str(exc), line=exc.line) from exc
    if violation is not None:
        raise _invalid("body.source", violation.message, line=violation.line)


def _invalid(location: str, message: str, *, line: int | None = None) -> ApiProblem:
    where = f" (line {line})" if line is not None else ""
    error: dict[str, Any] = {"location": location, "message": message} | ({"line": line} if line else {})
    return ApiProblem(422, f"{message}{where}", kind="validation", errors=[error])


def _check_symbols(market: MarketAccess, symbols: list[str]) -> None:
    if len(set(symbols)) != len(symbols):
        raise ApiProblem(
            422,
            "A symbol is repeated.",
            kind="validation",
            errors=[{"location": "body.symbols", "message": "repeated"}],
        )

    def check(con: BaseBackend) -> None:
        for symbol in symbols:
            require_symbol(con, symbol)

    try:
        market.run(check)
    except UnknownSymbolError as exc:
        raise ApiProblem(
            422, str(exc), kind="unknown-symbol", symbol=exc.symbol, suggestions=list(exc.suggestions)
        ) from exc


# ---- running -------------------------------------------------------------------------------------------


class BacktestRunner:
    """A small pool of worker threads that run bundled examples, and the sandbox for own source.

    The sandbox's workers are this process's (``quanta.sandbox.ensure_workers``: the app's lifespan may
    have started them), else started on the first own-source backtest and stopped with the runner.
    """

    def __init__(self, *, workers: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="quanta-backtest")
        self._workers = workers
        self._sandbox: WorkerPool | None = None

    def run(
        self,
        *,
        row: ApiBacktest,
        settings: Settings,
        market: MarketAccess,
        clock: Callable[[], datetime],
        wait: timedelta,
    ) -> bool:
        """Start a stored backtest; whether it finished within ``wait`` (it keeps running either way)."""
        if row.id is None:
            raise ValueError("the backtest was not stored")
        if not row.example:
            self._ensure_sandbox(settings)
            return wait_for_job(settings=settings, public_id=row.public_id, wait=wait)
        return self.wait(self.submit(backtest_id=row.id, settings=settings, market=market, clock=clock), wait)

    def _ensure_sandbox(self, settings: Settings) -> None:
        pool, started = ensure_workers(settings, self._workers)
        if started:
            self._sandbox = pool

    def submit(
        self, *, backtest_id: int, settings: Settings, market: MarketAccess, clock: Callable[[], datetime]
    ) -> Future[None]:
        """Start running a stored backtest."""
        return self._pool.submit(
            execute_backtest, backtest_id=backtest_id, settings=settings, market=market, clock=clock
        )

    @staticmethod
    def wait(future: Future[None], timeout: timedelta) -> bool:
        """Whether the backtest finished within ``timeout`` (it keeps running either way)."""
        try:
            future.result(timeout=timeout.total_seconds())
        except FutureTimeout:
            return False
        return True

    def shutdown(self) -> None:
        """Let running backtests finish; start no more; stop the sandbox workers this runner started."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        if self._sandbox is not None:
            forget(self._sandbox)
            self._sandbox = None


def wait_for_job(*, settings: Settings, public_id: str, wait: timedelta, poll: float = 0.02) -> bool:
    """Whether the sandbox job ``public_id`` ended within ``wait``."""
    deadline = time.monotonic() + wait.total_seconds()
    query = select(Job.status).where(col(Job.public_id) == public_id)
    while True:
        with Session(db.engine(settings)) as session:
            status = session.exec(query).first()
        if status is None or JobStatus(status).finished:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)


def execute_backtest(
    *, backtest_id: int, settings: Settings, market: MarketAccess, clock: Callable[[], datetime]
) -> None:
    """Run a stored backtest and store its results, or the reason it failed."""
    with Session(db.engine(settings)) as session:
        row = session.get(ApiBacktest, backtest_id)
        if row is None or row.status is not BacktestStatus.QUEUED:
            return
        row.status, row.started_at = BacktestStatus.RUNNING, clock()
        session.add(row)
        session.commit()
        try:
            _run(row, market)
            row.status = BacktestStatus.SUCCEEDED
        except (BacktestError, MarketDataError, ValueError, KeyError) as exc:
            row.status, row.error = BacktestStatus.FAILED, f"{type(exc).__name__}: {exc}"
        except Exception:
            _log.exception("backtest %s failed unexpectedly", row.public_id)
            row.status, row.error = (
                BacktestStatus.FAILED,
                "The backtest failed unexpectedly; it has been logged.",
            )
        row.finished_at = clock()
        session.add(row)
        session.commit()


def _run(row: ApiBacktest, market: MarketAccess) -> None:
    found = bundled_strategy(row.example)
    if found is None:
        raise KeyError(f"no example {row.example!r}")
    _, strategy = found
    timeframe: Timeframe = "1M" if row.timeframe == "1M" else "1W" if row.timeframe == "1W" else "1D"

    def load(con: BaseBackend) -> MarketData:
        return load_market(con, row.symbols, start=row.start_date, end=row.end_date, timeframe=timeframe)

    data = market.run(load)
    _store_result(row, backtest_json(Backtest(data.data, strategy, **row.options).run(**row.params)))


def _store_result(row: ApiBacktest, result: dict[str, Any]) -> None:
    row.stats = result.get("stats")
    row.trades = result.get("trades")
    row.equity = result.get("equity")
    row.receipt = result.get("receipt")


# ---- own source: the sandbox job's outcome -------------------------------------------------------------

_STATUS = {
    JobStatus.QUEUED: BacktestStatus.QUEUED,
    JobStatus.RUNNING: BacktestStatus.RUNNING,
    JobStatus.SUCCEEDED: BacktestStatus.SUCCEEDED,
    JobStatus.FAILED: BacktestStatus.FAILED,
    JobStatus.CANCELLED: BacktestStatus.FAILED,
}


def refresh_backtest(*, session: Session, row: ApiBacktest) -> ApiBacktest:
    """An own-source backtest brought up to date with its sandbox job (the caller commits)."""
    if row.example or row.status.finished:
        return row
    job = session.exec(select(Job).where(col(Job.public_id) == row.public_id)).first()
    if job is None:
        row.status, row.error = BacktestStatus.FAILED, "Its sandbox job is gone."
    else:
        _copy_job(row, job)
    session.add(row)
    return row


def _copy_job(row: ApiBacktest, job: Job) -> None:
    row.status = _STATUS[job.status]
    row.started_at, row.finished_at = job.started_at, job.finished_at
    if job.status is JobStatus.SUCCEEDED and job.result is not None:
        _store_result(row, job.result)
        row.params = dict(job.result.get("params") or row.params)
        row.class_name = str(job.result.get("strategy") or row.class_name)[:100]
    error = job.error
    if error is not None:
        row.error = f"{error.kind.value}: {error}"


# ---- reading -------------------------------------------------------------------------------------------


def backtest_of(*, session: Session, principal: Principal, public_id: str) -> ApiBacktest:
    """The backtest ``public_id`` if ``principal`` owns it; ``NotFound`` otherwise (whoever else owns it)."""
    row = session.exec(select(ApiBacktest).where(col(ApiBacktest.public_id) == public_id)).first()
    if row is None or not _owns(principal, row):
        raise NotFound("No such backtest.")
    return refresh_backtest(session=session, row=row)


def backtests_of(*, session: Session, principal: Principal, offset: int, limit: int) -> list[ApiBacktest]:
    """``principal``'s backtests, newest first."""
    query = select(ApiBacktest).where(_owner_clause(principal))
    query = query.order_by(col(ApiBacktest.created_at).desc(), col(ApiBacktest.id).desc())
    return [
        refresh_backtest(session=session, row=row) for row in session.exec(query.offset(offset).limit(limit))
    ]


def _owns(principal: Principal, row: ApiBacktest) -> bool:
    if principal.user is not None:
        return row.owner_user_id is not None and row.owner_user_id == principal.user.id
    return (
        principal.client is not None
        and row.owner_client_id is not None
        and row.owner_client_id == principal.client.id
    )


def _owner_clause(principal: Principal) -> Any:
    if principal.user is not None:
        return col(ApiBacktest.owner_user_id) == principal.user.id
    client_id = principal.client.id if principal.client is not None else -1
    return col(ApiBacktest.owner_client_id) == client_id
