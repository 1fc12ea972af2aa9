"""``/api/v1/competitions``: competitions, their entries and final rankings; organising and entering.

Reading is open to any token (competitions are public). Organising needs ``org:admin`` and, as on the
site, a site admin or an organisation's owner or admin (``competition_in.org``); entering a version of
your strategy needs ``strategies:write``. Errors are the API's problems: unknown competition ``404``, not
allowed ``403``, bad terms ``422``, entries closed or over the limit ``409``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, Security
from pydantic import BaseModel, Field

from quanta.accounts.models import User
from quanta.api.deps import Principal, QuantaRoute, SessionDep, authenticated
from quanta.competitions import service
from quanta.competitions.errors import NotAllowed
from quanta.competitions.models import CompetitionCreate, CompetitionPublic, CompetitionStatus, EntryPublic

router = APIRouter(tags=["competitions"], route_class=QuantaRoute)
Anyone = Annotated[Principal, Security(authenticated)]
Organiser = Annotated[Principal, Security(authenticated, scopes=["org:admin"])]
Entrant = Annotated[Principal, Security(authenticated, scopes=["strategies:write"])]
CompetitionId = Annotated[str, Path(min_length=1, max_length=20, description="A competition id (`cp_…`).")]


class EntryCreate(BaseModel):
    """What to enter: one of your strategies, at a version (default: its latest)."""

    strategy: str = Field(min_length=1, max_length=40)
    version: int | None = Field(default=None, ge=1)


@router.get("/competitions", response_model=list[CompetitionPublic])
def list_competitions(
    *, principal: Anyone, session: SessionDep, status: Annotated[CompetitionStatus | None, Query()] = None
) -> list[CompetitionPublic]:
    """Competitions, running and upcoming first."""
    del principal
    found = service.list_competitions(session=session, status=status)
    return [service.competition_view(session=session, competition=c) for c in found]


@router.post("/competitions", status_code=201, response_model=CompetitionPublic)
def create_competition(
    *, response: Response, principal: Organiser, session: SessionDep, competition_in: CompetitionCreate
) -> CompetitionPublic:
    """Organise a competition (site admins; organisations' owners and admins with `org`)."""
    competition = service.create_competition(
        session=session, actor=_person(principal), competition_in=competition_in
    )
    response.headers["Location"] = f"/api/v1/competitions/{competition.public_id}"
    return service.competition_view(session=session, competition=competition)


@router.get("/competitions/{competition_id}", response_model=CompetitionPublic)
def get_competition(
    *, principal: Anyone, session: SessionDep, competition_id: CompetitionId
) -> CompetitionPublic:
    """One competition's terms and status."""
    del principal
    competition = service.competition_by_public_id(session=session, public_id=competition_id)
    return service.competition_view(session=session, competition=competition)


@router.get("/competitions/{competition_id}/entries", response_model=list[EntryPublic])
def list_entries(
    *, principal: Anyone, session: SessionDep, competition_id: CompetitionId
) -> list[EntryPublic]:
    """The entries (their validation, and once finished their final rank, figures and receipt)."""
    del principal
    competition = service.competition_by_public_id(session=session, public_id=competition_id)
    service.refresh_entries(session=session, competition=competition)
    entries = service.entries_of(session=session, competition=competition)
    return service.entry_views(session=session, entries=entries)


@router.post("/competitions/{competition_id}/entries", status_code=201, response_model=EntryPublic)
def enter(
    *, principal: Entrant, session: SessionDep, competition_id: CompetitionId, entry_in: EntryCreate
) -> EntryPublic:
    """Enter a version of one of your strategies; its validation run is queued (status `pending`)."""
    competition = service.competition_by_public_id(session=session, public_id=competition_id)
    entry = service.enter(
        session=session,
        actor=_person(principal),
        competition=competition,
        strategy_id=entry_in.strategy,
        version=entry_in.version,
    )
    return service.entry_views(session=session, entries=[entry])[0]


def _person(principal: Principal) -> User:
    if principal.user is None:
        raise NotAllowed("This token acts for an organisation's client; competitions are entered by people.")
    return principal.user
