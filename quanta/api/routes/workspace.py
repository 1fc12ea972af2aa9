"""``/api/v1/strategies``: the bundled examples and the workspace — your strategies, the ones shared with
you and the public gallery; versions, diffs, restores, forks, lineage, stars and collaborators.

Reading a workspace strategy needs ``strategies:read``, changing anything ``strategies:write``; the
bundled examples are open to any token. Who may do what to a strategy is decided by
``quanta.workspace.access`` (docs/workspace.md): a private strategy you may not read is ``404``, one you
may read but not change is ``403``. Tokens of an organisation's client (client credentials) act for no
person: they read public strategies only and change nothing.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response, Security
from pydantic import BaseModel

from quanta.accounts.models import User
from quanta.api.deps import Principal, QuantaRoute, SessionDep, authenticated
from quanta.api.paging import cursor_int, decode_cursor, encode_cursor, next_link
from quanta.api.problems import ApiProblem
from quanta.api.strategies import EXAMPLE_PREFIX, StrategyDetail, StrategyPublic, bundled_strategies
from quanta.workspace import service
from quanta.workspace.errors import NotAllowed
from quanta.workspace.models import (
    CollaboratorCreate,
    CollaboratorPublic,
    CollaboratorUpdate,
    ForkCreate,
    GalleryQuery,
    GallerySort,
    Lineage,
    Page,
    Strategy,
    StrategyCreate,
    StrategyUpdate,
    StrategyVersion,
    VersionCreate,
    VersionDiff,
    VersionPublic,
    VersionSummary,
)
from quanta.workspace.models import StrategyPublic as WorkspaceStrategy

router = APIRouter(tags=["strategies"], route_class=QuantaRoute)
Anyone = Annotated[Principal, Security(authenticated)]
Reader = Annotated[Principal, Security(authenticated, scopes=["strategies:read"])]
Writer = Annotated[Principal, Security(authenticated, scopes=["strategies:write"])]
AnyStrategyId = Annotated[
    str, Path(min_length=1, max_length=120, description="`st_…`, or `example:<name>` for a bundled example.")
]
StrategyId = Annotated[str, Path(min_length=1, max_length=40, description="A strategy id (`st_…`).")]
Number = Annotated[int, Path(ge=1, le=1_000_000, description="A version number (1, 2, …).")]
Username = Annotated[str, Path(min_length=1, max_length=32)]
Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=200)]
Source = Literal["bundled", "own", "shared", "public"]


class WorkspaceStrategyDetail(WorkspaceStrategy):
    """A workspace strategy with the source of its latest version (None before the first)."""

    code: str | None


class StrategyPage(BaseModel):
    """One page of strategies: bundled examples, or workspace strategies as you see them."""

    items: list[StrategyPublic | WorkspaceStrategy]
    next_cursor: str | None


class VersionPage(BaseModel):
    """One page of a strategy's versions, newest first."""

    items: list[VersionSummary]
    next_cursor: str | None


class CollaboratorList(BaseModel):
    """The people a strategy is shared with."""

    items: list[CollaboratorPublic]


class RestoreRequest(BaseModel):
    """Restore an old version as the newest; the message defaults to "Restore version N"."""

    message: str | None = None


class StarState(BaseModel):
    """Whether you star the strategy, and how many people do."""

    starred: bool
    star_count: int


# ---- strategies ----------------------------------------------------------------------------------------


@router.get("/strategies", response_model=StrategyPage)
def list_strategies(
    *,
    request: Request,
    response: Response,
    principal: Anyone,
    session: SessionDep,
    source: Annotated[
        Source,
        Query(
            description="`bundled`: the examples (any token). `own`: yours; `shared`: shared with you; "
            "`public`: the gallery (these need `strategies:read`)."
        ),
    ] = "bundled",
    q: Annotated[str, Query(max_length=200, description="Gallery: words of the title or description.")] = "",
    tag: Annotated[str | None, Query(max_length=24, description="Gallery: strategies with this tag.")] = None,
    author: Annotated[str | None, Query(max_length=32, description="Gallery: by this username.")] = None,
    sort: Annotated[GallerySort, Query(description="Gallery: best first by this.")] = GallerySort.STARS,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> StrategyPage:
    """Strategies you can run or read: the bundled examples, your own, those shared with you, or the
    public gallery (searchable by words, tag and author; sorted by stars, forks, recency, or the verified
    backtest's Sharpe ratio or return)."""
    if source == "bundled":
        items = [StrategyPublic.model_validate(s.model_dump(exclude={"code"})) for s in bundled_strategies()]
        return StrategyPage(items=list(items), next_cursor=None)
    principal.require("strategies:read")
    offset = cursor_int(decode_cursor(cursor), "offset")
    if source == "public":
        query = GalleryQuery(text=q, tag=tag, author=author, sort=sort)
        found = service.search_gallery(session=session, query=query, offset=offset, limit=limit)
    elif source == "own":
        found = service.list_own_strategies(
            session=session, user=_person(principal), offset=offset, limit=limit
        )
    else:
        found = service.list_shared_strategies(
            session=session, user=_person(principal), offset=offset, limit=limit
        )
    return StrategyPage(
        items=list(_views(session, found.items, principal)), next_cursor=_next(request, response, found)
    )


@router.post("/strategies", status_code=201, response_model=WorkspaceStrategyDetail)
def create_strategy(
    *, response: Response, principal: Writer, session: SessionDep, strategy_in: StrategyCreate
) -> WorkspaceStrategyDetail:
    """Create a strategy (private unless you say otherwise); with `source`, its version 1 too."""
    strategy = service.create_strategy(session=session, owner=_person(principal), strategy_in=strategy_in)
    response.headers["Location"] = f"/api/v1/strategies/{strategy.public_id}"
    return _detail(session, strategy, principal)


@router.get("/strategies/{strategy_id}", response_model=WorkspaceStrategyDetail | StrategyDetail)
def get_strategy(
    *, principal: Anyone, session: SessionDep, strategy_id: AnyStrategyId
) -> WorkspaceStrategyDetail | StrategyDetail:
    """One strategy with its code: a bundled example (`example:<name>`, any token) or a workspace
    strategy you may read (`st_…`, scope `strategies:read`)."""
    if strategy_id.startswith(EXAMPLE_PREFIX):
        for strategy in bundled_strategies():
            if strategy.id == strategy_id:
                return strategy
        raise ApiProblem(404, f"No bundled example {strategy_id!r}.", kind="unknown-strategy")
    principal.require("strategies:read")
    return _detail(session, _strategy(session, strategy_id, principal), principal)


@router.patch("/strategies/{strategy_id}", response_model=WorkspaceStrategyDetail)
def update_strategy(
    *, principal: Writer, session: SessionDep, strategy_id: StrategyId, strategy_in: StrategyUpdate
) -> WorkspaceStrategyDetail:
    """Change the title, description or tags (owner and editors), or the visibility (owner)."""
    strategy = _strategy(session, strategy_id, principal)
    service.update_strategy(
        session=session, actor=_person(principal), strategy=strategy, strategy_in=strategy_in
    )
    return _detail(session, strategy, principal)


@router.delete("/strategies/{strategy_id}", status_code=204)
def delete_strategy(*, principal: Writer, session: SessionDep, strategy_id: StrategyId) -> None:
    """Delete a strategy of yours with its versions, stars and collaborators (its forks stay)."""
    strategy = _strategy(session, strategy_id, principal)
    service.delete_strategy(session=session, actor=_person(principal), strategy=strategy)


# ---- versions ------------------------------------------------------------------------------------------


@router.get("/strategies/{strategy_id}/versions", response_model=VersionPage)
def list_versions(
    *,
    request: Request,
    response: Response,
    principal: Reader,
    session: SessionDep,
    strategy_id: StrategyId,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> VersionPage:
    """The versions of a strategy, newest first (without their source)."""
    strategy = _strategy(session, strategy_id, principal)
    offset = cursor_int(decode_cursor(cursor), "offset")
    found = service.list_versions(
        session=session, strategy=strategy, user_id=_user_id(principal), offset=offset, limit=limit
    )
    items = service.version_summaries(session=session, versions=found.items)
    return VersionPage(items=items, next_cursor=_next(request, response, found))


@router.post("/strategies/{strategy_id}/versions", status_code=201, response_model=VersionPublic)
def create_version(
    *,
    response: Response,
    principal: Writer,
    session: SessionDep,
    strategy_id: StrategyId,
    version_in: VersionCreate,
) -> VersionPublic:
    """Save a new version (owner and editors). The source must parse as Python: a `422` names the line
    and column; an unchanged source is a `409`."""
    strategy = _strategy(session, strategy_id, principal)
    version = service.create_version(
        session=session, actor=_person(principal), strategy=strategy, version_in=version_in
    )
    response.headers["Location"] = f"/api/v1/strategies/{strategy_id}/versions/{version.number}"
    return service.version_view(session=session, version=version)


@router.get("/strategies/{strategy_id}/versions/{number}", response_model=VersionPublic)
def get_version(
    *, principal: Reader, session: SessionDep, strategy_id: StrategyId, number: Number
) -> VersionPublic:
    """One version with its source."""
    strategy = _strategy(session, strategy_id, principal)
    version = service.get_version(
        session=session, strategy=strategy, user_id=_user_id(principal), number=number
    )
    return service.version_view(session=session, version=version)


@router.post(
    "/strategies/{strategy_id}/versions/{number}/restore", status_code=201, response_model=VersionPublic
)
def restore_version(
    *,
    response: Response,
    principal: Writer,
    session: SessionDep,
    strategy_id: StrategyId,
    number: Number,
    restore_in: RestoreRequest | None = None,
) -> VersionPublic:
    """Save version `number`'s source again as the newest version (history is never rewritten)."""
    strategy = _strategy(session, strategy_id, principal)
    message = restore_in.message if restore_in is not None else None
    version = service.restore_version(
        session=session, actor=_person(principal), strategy=strategy, number=number, message=message
    )
    response.headers["Location"] = f"/api/v1/strategies/{strategy_id}/versions/{version.number}"
    return service.version_view(session=session, version=version)


@router.get("/strategies/{strategy_id}/diff", response_model=VersionDiff)
def diff_versions(
    *,
    principal: Reader,
    session: SessionDep,
    strategy_id: StrategyId,
    old: Annotated[int, Query(ge=1, le=1_000_000, description="The version to compare from.")],
    new: Annotated[int, Query(ge=1, le=1_000_000, description="The version to compare to.")],
    context: Annotated[int, Query(ge=0, le=1000, description="Unchanged lines around each change.")] = 3,
) -> VersionDiff:
    """What changed between two versions: unified diff text and the same as hunks of numbered lines."""
    strategy = _strategy(session, strategy_id, principal)
    return service.diff_versions(
        session=session, strategy=strategy, user_id=_user_id(principal), old=old, new=new, context=context
    )


# ---- forks and stars -----------------------------------------------------------------------------------


@router.post("/strategies/{strategy_id}/forks", status_code=201, response_model=WorkspaceStrategyDetail)
def fork_strategy(
    *,
    response: Response,
    principal: Writer,
    session: SessionDep,
    strategy_id: StrategyId,
    fork_in: ForkCreate | None = None,
) -> WorkspaceStrategyDetail:
    """Fork a strategy you may read into a new private strategy of yours (default: its latest version)."""
    strategy = _strategy(session, strategy_id, principal)
    fork = service.fork_strategy(
        session=session, actor=_person(principal), strategy=strategy, fork_in=fork_in
    )
    response.headers["Location"] = f"/api/v1/strategies/{fork.public_id}"
    return _detail(session, fork, principal)


@router.get("/strategies/{strategy_id}/forks", response_model=StrategyPage)
def list_forks(
    *,
    request: Request,
    response: Response,
    principal: Reader,
    session: SessionDep,
    strategy_id: StrategyId,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> StrategyPage:
    """The direct forks of a strategy that you may read, newest first."""
    strategy = _strategy(session, strategy_id, principal)
    offset = cursor_int(decode_cursor(cursor), "offset")
    found = service.list_forks(
        session=session, strategy=strategy, user_id=_user_id(principal), offset=offset, limit=limit
    )
    return StrategyPage(
        items=list(_views(session, found.items, principal)), next_cursor=_next(request, response, found)
    )


@router.get("/strategies/{strategy_id}/lineage", response_model=Lineage)
def get_lineage(*, principal: Reader, session: SessionDep, strategy_id: StrategyId) -> Lineage:
    """Where a strategy was forked from (parent first) and its direct forks; strategies you may not read
    appear as placeholders (`visible: false`)."""
    strategy = _strategy(session, strategy_id, principal)
    return service.lineage(session=session, strategy=strategy, user_id=_user_id(principal))


@router.put("/strategies/{strategy_id}/star", response_model=StarState)
def star_strategy(*, principal: Writer, session: SessionDep, strategy_id: StrategyId) -> StarState:
    """Star a strategy you may read (again: no change)."""
    strategy = _strategy(session, strategy_id, principal)
    service.star_strategy(session=session, actor=_person(principal), strategy=strategy)
    return StarState(starred=True, star_count=strategy.star_count)


@router.delete("/strategies/{strategy_id}/star", response_model=StarState)
def unstar_strategy(*, principal: Writer, session: SessionDep, strategy_id: StrategyId) -> StarState:
    """Take your star off a strategy (again: no change)."""
    user = _person(principal)
    strategy = _starred_strategy(session, strategy_id, user)
    service.unstar_strategy(session=session, actor=user, strategy=strategy)
    return StarState(starred=False, star_count=strategy.star_count)


# ---- collaborators -------------------------------------------------------------------------------------


@router.get("/strategies/{strategy_id}/collaborators", response_model=CollaboratorList)
def list_collaborators(
    *, principal: Reader, session: SessionDep, strategy_id: StrategyId
) -> CollaboratorList:
    """The people a strategy is shared with, and their roles."""
    strategy = _strategy(session, strategy_id, principal)
    items = service.list_collaborators(session=session, strategy=strategy, user_id=_user_id(principal))
    return CollaboratorList(items=items)


@router.post("/strategies/{strategy_id}/collaborators", status_code=201, response_model=CollaboratorPublic)
def add_collaborator(
    *, principal: Writer, session: SessionDep, strategy_id: StrategyId, collaborator_in: CollaboratorCreate
) -> CollaboratorPublic:
    """Share a strategy of yours with someone, by username, as `viewer` or `editor`."""
    strategy = _strategy(session, strategy_id, principal)
    service.add_collaborator(
        session=session, actor=_person(principal), strategy=strategy, collaborator_in=collaborator_in
    )
    return _collaborator(session, strategy, collaborator_in.username, principal)


@router.patch("/strategies/{strategy_id}/collaborators/{username}", response_model=CollaboratorPublic)
def change_collaborator_role(
    *,
    principal: Writer,
    session: SessionDep,
    strategy_id: StrategyId,
    username: Username,
    collaborator_in: CollaboratorUpdate,
) -> CollaboratorPublic:
    """Make a collaborator a `viewer` or an `editor` (owner)."""
    strategy = _strategy(session, strategy_id, principal)
    service.change_collaborator_role(
        session=session,
        actor=_person(principal),
        strategy=strategy,
        username=username,
        role=collaborator_in.role,
    )
    return _collaborator(session, strategy, username, principal)


@router.delete("/strategies/{strategy_id}/collaborators/{username}", status_code=204)
def remove_collaborator(
    *, principal: Writer, session: SessionDep, strategy_id: StrategyId, username: Username
) -> None:
    """Stop sharing a strategy with someone (owner), or leave a strategy shared with you."""
    strategy = _strategy(session, strategy_id, principal)
    service.remove_collaborator(
        session=session, actor=_person(principal), strategy=strategy, username=username
    )


# ---- helpers -------------------------------------------------------------------------------------------


def _user_id(principal: Principal) -> int | None:
    return principal.user.id if principal.user is not None else None


def _person(principal: Principal) -> User:
    """The person the token acts for; an organisation's client cannot own or change strategies."""
    if principal.user is None:
        raise NotAllowed("This token acts for an organisation's client; strategies belong to people.")
    return principal.user


def _strategy(session: SessionDep, strategy_id: str, principal: Principal) -> Strategy:
    return service.strategy_by_public_id(session=session, public_id=strategy_id, user_id=_user_id(principal))


def _starred_strategy(session: SessionDep, strategy_id: str, user: User) -> Strategy:
    """The strategy to unstar: one you starred (even if it has gone private since), or one you may read."""
    strategy = None
    if user.id is not None:
        strategy = service.starred_strategy(session=session, public_id=strategy_id, user_id=user.id)
    if strategy is not None:
        return strategy
    return service.strategy_by_public_id(session=session, public_id=strategy_id, user_id=user.id)


def _views(session: SessionDep, strategies: list[Strategy], principal: Principal) -> list[WorkspaceStrategy]:
    return service.strategy_views(session=session, strategies=strategies, user_id=_user_id(principal))


def _detail(session: SessionDep, strategy: Strategy, principal: Principal) -> WorkspaceStrategyDetail:
    view = service.strategy_view(session=session, strategy=strategy, user_id=_user_id(principal))
    code = None
    if strategy.latest_version:
        code = service.get_version(session=session, strategy=strategy, user_id=_user_id(principal)).source
    return WorkspaceStrategyDetail(**view.model_dump(), code=code)


def _collaborator(
    session: SessionDep, strategy: Strategy, username: str, principal: Principal
) -> CollaboratorPublic:
    name = username.strip().lower()
    for collaborator in service.list_collaborators(
        session=session, strategy=strategy, user_id=_user_id(principal)
    ):
        if collaborator.username == name:
            return collaborator
    raise ApiProblem(404, f"{name!r} is not a collaborator on this strategy.")


def _next(request: Request, response: Response, found: Page[Strategy] | Page[StrategyVersion]) -> str | None:
    """The cursor of the page after ``found`` (also as a ``Link`` header), if there is one."""
    cursor = encode_cursor({"offset": found.next_offset}) if found.next_offset is not None else None
    response.headers.update(next_link(request, cursor))
    return cursor
