"""``/api/v1/backtests``: run bundled strategies, read results (``/api/v1/strategies`` is in
``workspace.py``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, Security
from pydantic import BaseModel

from quanta.api.backtests import (
    BacktestCreate,
    BacktestPublic,
    BacktestRunner,
    backtest_of,
    backtests_of,
    plan_backtest,
    refresh_backtest,
)
from quanta.api.deps import (
    ClockDep,
    ConfigDep,
    MarketDep,
    Principal,
    QuantaRoute,
    SessionDep,
    SettingsDep,
    authenticated,
)
from quanta.api.models import ApiBacktest, BacktestStatus
from quanta.api.paging import cursor_int, decode_cursor, encode_cursor, next_link
from quanta.api.problems import ApiProblem

router = APIRouter(route_class=QuantaRoute)
Runner = Annotated[Principal, Security(authenticated, scopes=["backtests:run"])]
Reader = Annotated[Principal, Security(authenticated, scopes=["backtests:read"])]
BacktestId = Annotated[str, Path(min_length=1, max_length=40, description="A backtest id (bt_…).")]
Limit = Annotated[int, Query(ge=1, le=1000)]
Cursor = Annotated[str | None, Query(max_length=200)]


class BacktestPage(BaseModel):
    """One page of your backtests, newest first."""

    items: list[BacktestPublic]
    next_cursor: str | None


class RecordPage(BaseModel):
    """One page of a backtest's trades or equity curve."""

    items: list[dict[str, Any]]
    next_cursor: str | None


@router.post(
    "/backtests",
    tags=["backtests"],
    status_code=201,
    response_model=BacktestPublic,
    responses={202: {"model": BacktestPublic, "description": "Still running: poll its URL."}},
)
def submit_backtest(
    *,
    request: Request,
    response: Response,
    principal: Runner,
    backtest_in: BacktestCreate,
    session: SessionDep,
    settings: SettingsDep,
    market: MarketDep,
    config: ConfigDep,
    clock: ClockDep,
) -> BacktestPublic:
    """Run a bundled example, or your own source in the sandbox, now. Answers 201 with the results when
    they are ready within the wait, or 202 while it still runs (poll ``GET /backtests/{id}``)."""
    row = plan_backtest(
        session=session, principal=principal, backtest_in=backtest_in, market=market, now=clock()
    )
    session.commit()
    runner: BacktestRunner = request.app.state.quanta_api.runner
    finished = runner.run(row=row, settings=settings, market=market, clock=clock, wait=config.backtest_wait)
    session.refresh(row)
    row = refresh_backtest(session=session, row=row)
    response.headers["Location"] = f"/api/v1/backtests/{row.public_id}"
    if not finished:
        response.status_code = 202
    return BacktestPublic.of(row)


@router.get("/backtests", tags=["backtests"], response_model=BacktestPage)
def list_backtests(
    *,
    request: Request,
    response: Response,
    principal: Reader,
    session: SessionDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> BacktestPage:
    """Your backtests, newest first."""
    offset = cursor_int(decode_cursor(cursor), "offset")
    rows = backtests_of(session=session, principal=principal, offset=offset, limit=limit + 1)
    next_cursor = encode_cursor({"offset": offset + limit}) if len(rows) > limit else None
    response.headers.update(next_link(request, next_cursor))
    return BacktestPage(items=[BacktestPublic.of(row) for row in rows[:limit]], next_cursor=next_cursor)


@router.get("/backtests/{backtest_id}", tags=["backtests"], response_model=BacktestPublic)
def get_backtest(*, principal: Reader, session: SessionDep, backtest_id: BacktestId) -> BacktestPublic:
    """Status, options and (once succeeded) statistics of one of your backtests."""
    return BacktestPublic.of(backtest_of(session=session, principal=principal, public_id=backtest_id))


@router.get("/backtests/{backtest_id}/trades", tags=["backtests"], response_model=RecordPage)
def get_trades(
    *,
    request: Request,
    response: Response,
    principal: Reader,
    session: SessionDep,
    backtest_id: BacktestId,
    limit: Limit = 1000,
    cursor: Cursor = None,
) -> RecordPage:
    """The closed trades of one of your finished backtests."""
    row = _finished(backtest_of(session=session, principal=principal, public_id=backtest_id))
    return _page(request, response, row.trades or [], limit=limit, cursor=cursor)


@router.get("/backtests/{backtest_id}/equity", tags=["backtests"], response_model=RecordPage)
def get_equity(
    *,
    request: Request,
    response: Response,
    principal: Reader,
    session: SessionDep,
    backtest_id: BacktestId,
    limit: Annotated[int, Query(ge=1, le=20_000)] = 10_000,
    cursor: Cursor = None,
) -> RecordPage:
    """The equity curve (``ts``, ``equity``, ``drawdown_pct``) of one of your finished backtests."""
    row = _finished(backtest_of(session=session, principal=principal, public_id=backtest_id))
    return _page(request, response, row.equity or [], limit=limit, cursor=cursor)


def _finished(row: ApiBacktest) -> ApiBacktest:
    if not row.status.finished:
        raise ApiProblem(
            409, f"Backtest {row.public_id} is {row.status.value}.", kind="backtest-not-finished"
        )
    if row.status is BacktestStatus.FAILED:
        raise ApiProblem(409, f"Backtest {row.public_id} failed: {row.error}", kind="conflict")
    return row


def _page(
    request: Request, response: Response, records: list[dict[str, Any]], *, limit: int, cursor: str | None
) -> RecordPage:
    offset = cursor_int(decode_cursor(cursor), "offset")
    chunk = records[offset : offset + limit]
    next_cursor = encode_cursor({"offset": offset + limit}) if offset + limit < len(records) else None
    response.headers.update(next_link(request, next_cursor))
    return RecordPage(items=chunk, next_cursor=next_cursor)
