"""Backtests submitted through the API: check, store, run in a worker thread, read back by their owner.

``plan_backtest`` checks a submission (example, parameters, symbols, options) and stores it as queued;
``BacktestRunner`` runs it on a small pool of threads (bundled examples only: user code waits for the
sandboxed workers); ``backtest_of`` returns it to its owner and to no one else.
"""

from __future__ import annotations

import logging
import math
import secrets
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
from quanta.runs import json_value, stats_json, trade_records
from quanta.settings import Settings

_log = logging.getLogger(__name__)
Symbol = Annotated[str, StringConstraints(min_length=1, max_length=32, strip_whitespace=True)]
ParamValue = int | float | bool | str
MAX_PARAMS = 50


class BacktestCreate(BaseModel):
    """A backtest to run: a bundled example (or, later, your own source) on symbols and dates."""

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
        description="Your strategy's Python source. Not yet: needs the sandbox.",
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
        return self


class BacktestPublic(BaseModel):
    """A backtest as its owner sees it."""

    id: str
    status: BacktestStatus
    example: str
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
            example=row.example,
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
    """Check a submission and store it as queued (the caller commits, then runs it)."""
    if backtest_in.source is not None:
        raise ApiProblem(
            501,
            "Running your own strategy source needs the sandboxed workers of the workspace, which are not "
            "here yet. Submit a bundled example (`example`) meanwhile.",
            kind="sandbox-required",
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
    row = ApiBacktest(
        public_id="bt_" + secrets.token_urlsafe(16),
        owner_user_id=principal.user.id if principal.user is not None else None,
        owner_client_id=principal.client.id
        if principal.user is None and principal.client is not None
        else None,
        submitted_via=principal.via[:80],
        example=example.name,
        class_name=example.class_name,
        symbols=symbols,
        start_date=backtest_in.start,
        end_date=backtest_in.end,
        timeframe=backtest_in.timeframe,
        params={key: json_value(value) for key, value in params.items()},
        options={"cash": backtest_in.cash, "commission": backtest_in.commission},
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


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
    """A small pool of worker threads that run submitted backtests."""

    def __init__(self, *, workers: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="quanta-backtest")

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
        """Let running backtests finish; start no more."""
        self._pool.shutdown(wait=True, cancel_futures=True)


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
    result = Backtest(data.data, strategy, **row.options).run(**row.params)
    row.stats = stats_json(result.stats)
    row.trades = trade_records(result)
    row.receipt = _json_safe(result.receipt.to_dict())
    index = result.pandas_index()
    row.equity = [
        {"ts": json_value(ts), "equity": _number(equity), "drawdown_pct": _number(drawdown)}
        for ts, equity, drawdown in zip(index, result.equity.tolist(), result.drawdown.tolist(), strict=True)
    ]


def _number(value: float) -> float | None:
    return None if math.isnan(value) else value


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return json_value(value)


# ---- reading -------------------------------------------------------------------------------------------


def backtest_of(*, session: Session, principal: Principal, public_id: str) -> ApiBacktest:
    """The backtest ``public_id`` if ``principal`` owns it; ``NotFound`` otherwise (whoever else owns it)."""
    row = session.exec(select(ApiBacktest).where(col(ApiBacktest.public_id) == public_id)).first()
    if row is None or not _owns(principal, row):
        raise NotFound("No such backtest.")
    return row


def backtests_of(*, session: Session, principal: Principal, offset: int, limit: int) -> list[ApiBacktest]:
    """``principal``'s backtests, newest first."""
    query = select(ApiBacktest).where(_owner_clause(principal))
    query = query.order_by(col(ApiBacktest.created_at).desc(), col(ApiBacktest.id).desc())
    return list(session.exec(query.offset(offset).limit(limit)))


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
