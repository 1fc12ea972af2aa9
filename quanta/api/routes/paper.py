"""``/api/v1/paper``: deploy a strategy version to paper trading, stop, restart, list, read the account.

Deploying, stopping and restarting need ``strategies:write`` and, as on the site, the strategy's owner or
an editor; reading needs ``strategies:read`` and read access to the strategy. The desk (the app's
lifespan task, or ``python -m pipelines.paper``) picks up running deployments within a few seconds.
Errors are the API's problems: unknown deployment or strategy ``404``, not allowed ``403``, bad input ``422``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, Security
from pydantic import BaseModel, Field

from quanta.accounts.models import User
from quanta.api.deps import Principal, QuantaRoute, SessionDep, authenticated
from quanta.paper import service
from quanta.paper.errors import Forbidden
from quanta.paper.models import AccountView, PaperCosts, PaperDeployment

router = APIRouter(tags=["paper trading"], route_class=QuantaRoute)
Reader = Annotated[Principal, Security(authenticated, scopes=["strategies:read"])]
Writer = Annotated[Principal, Security(authenticated, scopes=["strategies:write"])]
DeploymentId = Annotated[str, Path(min_length=1, max_length=20, description="A deployment id (`pp_…`).")]
StrategyId = Annotated[str, Path(min_length=1, max_length=40, description="A strategy id (`st_…`).")]


class DeploymentCreate(BaseModel):
    """What to deploy: a strategy at a version (default: its latest), on symbols, with a capital."""

    strategy: str = Field(min_length=1, max_length=40)
    version: int | None = Field(default=None, ge=1)
    symbols: list[str] = Field(min_length=1, max_length=8)
    interval: str = "1s"
    capital: float = Field(default=10_000.0, gt=0)
    costs: PaperCosts = PaperCosts()
    params: dict[str, Any] = Field(default_factory=dict)


class DeploymentPublic(BaseModel):
    """A deployment as the API shows it."""

    id: str
    version: int
    symbols: list[str]
    interval: str
    capital: float
    costs: dict[str, Any]
    status: str
    error: str
    created_at: datetime
    updated_at: datetime


def _public(row: PaperDeployment) -> DeploymentPublic:
    return DeploymentPublic(
        id=row.public_id,
        version=row.version_number,
        symbols=list(row.symbols),
        interval=row.interval,
        capital=row.capital,
        costs=dict(row.costs),
        status=row.status,
        error=row.error,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _person(principal: Principal) -> User:
    if principal.user is None:
        raise Forbidden("This token acts for an organisation's client; people deploy strategies.")
    return principal.user


@router.post("/paper", status_code=201, response_model=DeploymentPublic)
def deploy(
    *, response: Response, principal: Writer, session: SessionDep, deployment_in: DeploymentCreate
) -> Any:
    """Deploy a version of a strategy you own or edit to paper trading."""
    row = service.deploy(
        session=session,
        actor=_person(principal),
        strategy_id=deployment_in.strategy,
        version=deployment_in.version,
        symbols=deployment_in.symbols,
        interval=deployment_in.interval,
        capital=deployment_in.capital,
        costs=deployment_in.costs,
        params=deployment_in.params,
    )
    session.commit()
    response.headers["Location"] = f"/api/v1/paper/{row.public_id}"
    return _public(row)


@router.get("/strategies/{strategy_id}/paper", response_model=list[DeploymentPublic])
def list_deployments(*, principal: Reader, session: SessionDep, strategy_id: StrategyId) -> Any:
    """A strategy's paper deployments, newest first."""
    user_id = principal.user.id if principal.user else None
    return [
        _public(r)
        for r in service.list_deployments(session=session, strategy_id=strategy_id, user_id=user_id)
    ]


@router.get("/paper/{deployment_id}", response_model=DeploymentPublic)
def get_deployment(*, principal: Reader, session: SessionDep, deployment_id: DeploymentId) -> Any:
    """One deployment."""
    user_id = principal.user.id if principal.user else None
    return _public(service.get_deployment(session=session, public_id=deployment_id, user_id=user_id))


@router.get("/paper/{deployment_id}/account", response_model=AccountView)
def account(*, principal: Reader, session: SessionDep, deployment_id: DeploymentId) -> AccountView:
    """The account: cash, positions, equity, realised and unrealised P&L, latest fills, equity curve."""
    user_id = principal.user.id if principal.user else None
    return service.account_view(session=session, public_id=deployment_id, user_id=user_id)


@router.post("/paper/{deployment_id}/stop", response_model=DeploymentPublic)
def stop(*, principal: Writer, session: SessionDep, deployment_id: DeploymentId) -> Any:
    """Stop a deployment (its account is kept)."""
    row = service.stop(session=session, actor=_person(principal), public_id=deployment_id)
    session.commit()
    return _public(row)


@router.post("/paper/{deployment_id}/restart", response_model=DeploymentPublic)
def restart(*, principal: Writer, session: SessionDep, deployment_id: DeploymentId) -> Any:
    """Run a stopped or failed deployment again, from its stored account."""
    row = service.restart(session=session, actor=_person(principal), public_id=deployment_id)
    session.commit()
    return _public(row)
