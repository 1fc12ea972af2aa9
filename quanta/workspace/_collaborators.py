"""Collaborators: the owner shares a strategy with people (by username) as viewers or editors.

The owner invites, changes roles and removes; a collaborator may also remove themselves (leave).
Every change is in the audit log, with the collaborator as its subject.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from quanta.accounts.events import AuditKind
from quanta.accounts.models import Profile, User
from quanta.workspace._checks import is_username
from quanta.workspace._support import (
    audit,
    current_time,
    strategy_pk,
    user_by_username,
    user_pk,
    usernames,
)
from quanta.workspace.access import require_owner, require_reader
from quanta.workspace.errors import Conflict, InvalidInput, NotFound
from quanta.workspace.models import (
    Access,
    CollaboratorCreate,
    CollaboratorPublic,
    CollaboratorRole,
    Strategy,
    StrategyCollaborator,
)


def add_collaborator(
    *,
    session: Session,
    actor: User,
    strategy: Strategy,
    collaborator_in: CollaboratorCreate,
    now: datetime | None = None,
) -> StrategyCollaborator:
    """Share ``strategy`` with the person called ``collaborator_in.username`` (owner only)."""
    now = current_time(now)
    require_owner(session=session, strategy=strategy, user_id=actor.id)
    person = _person(session, collaborator_in.username)
    if person.id == strategy.owner_id:
        raise InvalidInput("username", "The owner already has every right to this strategy.")
    if _row(session, strategy, user_pk(person)) is not None:
        raise Conflict(
            f"{collaborator_in.username.strip().lower()} is already a collaborator: change their role."
        )
    row = StrategyCollaborator(
        strategy_id=strategy_pk(strategy),
        user_id=user_pk(person),
        role=collaborator_in.role,
        added_by_id=actor.id,
        created_at=now,
    )
    session.add(row)
    session.flush()
    audit(
        session,
        AuditKind.STRATEGY_COLLABORATOR_ADDED,
        now=now,
        actor=actor,
        strategy=strategy,
        subject_id=person.id,
        role=row.role.value,
    )
    return row


def change_collaborator_role(
    *,
    session: Session,
    actor: User,
    strategy: Strategy,
    username: str,
    role: CollaboratorRole,
    now: datetime | None = None,
) -> StrategyCollaborator:
    """Make the collaborator ``username`` a viewer or an editor (owner only)."""
    now = current_time(now)
    require_owner(session=session, strategy=strategy, user_id=actor.id)
    row = _collaborator(session, strategy, username)
    before = row.role
    if before is not role:
        row.role = role
        session.add(row)
        session.flush()
        audit(
            session,
            AuditKind.STRATEGY_COLLABORATOR_ROLE_CHANGED,
            now=now,
            actor=actor,
            strategy=strategy,
            subject_id=row.user_id,
            before=before.value,
            after=role.value,
        )
    return row


def remove_collaborator(
    *, session: Session, actor: User, strategy: Strategy, username: str, now: datetime | None = None
) -> None:
    """Stop sharing ``strategy`` with ``username`` (the owner, or the collaborator leaving)."""
    now = current_time(now)
    access = require_reader(session=session, strategy=strategy, user_id=actor.id)
    leaving = usernames(session, [actor.id]).get(user_pk(actor)) == username.strip().lower()
    if access is not Access.OWNER and not leaving:
        require_owner(session=session, strategy=strategy, user_id=actor.id)
    row = _collaborator(session, strategy, username)
    session.delete(row)
    session.flush()
    audit(
        session,
        AuditKind.STRATEGY_COLLABORATOR_REMOVED,
        now=now,
        actor=actor,
        strategy=strategy,
        subject_id=row.user_id,
        role=row.role.value,
    )


def list_collaborators(
    *, session: Session, strategy: Strategy, user_id: int | None
) -> list[CollaboratorPublic]:
    """The people ``strategy`` is shared with, by username (anyone who may read it may see them)."""
    require_reader(session=session, strategy=strategy, user_id=user_id)
    rows = session.exec(
        select(StrategyCollaborator, Profile)
        .join(Profile, col(Profile.user_id) == col(StrategyCollaborator.user_id))
        .where(col(StrategyCollaborator.strategy_id) == strategy_pk(strategy))
        .order_by(col(Profile.username))
    )
    return [
        CollaboratorPublic(
            username=profile.username,
            display_name=profile.display_name,
            role=row.role,
            added_at=row.created_at,
        )
        for row, profile in rows
    ]


def _person(session: Session, username: str) -> User:
    if not is_username(username.strip().lower()):
        raise NotFound(f"No one is called {username.strip()[:40]!r}.")
    return user_by_username(session, username)


def _row(session: Session, strategy: Strategy, user_id: int) -> StrategyCollaborator | None:
    return session.exec(
        select(StrategyCollaborator).where(
            col(StrategyCollaborator.strategy_id) == strategy_pk(strategy),
            col(StrategyCollaborator.user_id) == user_id,
        )
    ).first()


def _collaborator(session: Session, strategy: Strategy, username: str) -> StrategyCollaborator:
    name = username.strip().lower()
    row = None
    if is_username(name):
        row = session.exec(
            select(StrategyCollaborator)
            .join(Profile, col(Profile.user_id) == col(StrategyCollaborator.user_id))
            .where(
                col(StrategyCollaborator.strategy_id) == strategy_pk(strategy), col(Profile.username) == name
            )
        ).first()
    if row is None:
        raise NotFound(f"{name[:40]!r} is not a collaborator on this strategy.")
    return row
