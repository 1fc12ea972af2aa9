"""Who may do what with a strategy, decided in one place.

``role_for`` answers the access someone has: the owner is ``OWNER``; a collaborator has their role
(``EDITOR`` or ``VIEWER``); anyone else, signed in or not (``user_id=None``), is a ``VIEWER`` of public and
unlisted strategies and has no access to private ones. ``require`` turns that into errors: no access at
all is ``StrategyNotFound`` (a private strategy does not exist for strangers), too little is
``Forbidden``. Every workspace service that changes something calls ``require``; the collaborative
editor authorises room joins with ``role_for`` / ``role_for_public_id``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, or_, select

from quanta.workspace._checks import is_public_id
from quanta.workspace.errors import Forbidden, StrategyNotFound
from quanta.workspace.models import Access, CollaboratorRole, Strategy, StrategyCollaborator, Visibility

__all__ = [
    "Access",
    "readable_by",
    "require",
    "require_owner",
    "require_reader",
    "require_writer",
    "role_for",
    "role_for_public_id",
    "roles_for",
    "strategy_by_public_id",
]

_NEEDS = {
    Access.VIEWER: "",
    Access.EDITOR: "Only the owner and editors can change this strategy; ask the owner for editor access.",
    Access.OWNER: "Only the owner of this strategy can do this.",
}


def role_for(*, session: Session, strategy: Strategy, user_id: int | None) -> Access | None:
    """The access ``user_id`` (None: someone not signed in) has to ``strategy``, or None."""
    role = None
    if user_id is not None and user_id != strategy.owner_id:
        role = session.exec(
            select(StrategyCollaborator.role).where(
                col(StrategyCollaborator.strategy_id) == strategy.id,
                col(StrategyCollaborator.user_id) == user_id,
            )
        ).first()
    return _access(strategy, user_id, CollaboratorRole(role) if role is not None else None)


def roles_for(
    *, session: Session, strategies: Sequence[Strategy], user_id: int | None
) -> dict[int, Access | None]:
    """``role_for`` of many strategies at once (one query), by strategy id."""
    ids = [s.id for s in strategies if s.id is not None]
    roles: dict[int, CollaboratorRole] = {}
    if user_id is not None and ids:
        rows = session.exec(
            select(StrategyCollaborator.strategy_id, StrategyCollaborator.role).where(
                col(StrategyCollaborator.strategy_id).in_(ids), col(StrategyCollaborator.user_id) == user_id
            )
        )
        roles = {strategy_id: CollaboratorRole(role) for strategy_id, role in rows}
    return {s.id: _access(s, user_id, roles.get(s.id)) for s in strategies if s.id is not None}


def readable_by(user_id: int | None) -> ColumnElement[bool]:
    """A condition on ``Strategy`` rows: those ``user_id`` may read (the same rule as ``role_for``)."""
    anyone = col(Strategy.visibility) != Visibility.PRIVATE
    if user_id is None:
        return anyone
    shared = select(StrategyCollaborator.strategy_id).where(col(StrategyCollaborator.user_id) == user_id)
    return or_(anyone, col(Strategy.owner_id) == user_id, col(Strategy.id).in_(shared))


def _access(strategy: Strategy, user_id: int | None, role: CollaboratorRole | None) -> Access | None:
    if user_id is not None and user_id == strategy.owner_id:
        return Access.OWNER
    if role is not None:
        return role.access
    return Access.VIEWER if strategy.visibility.readable_by_anyone else None


def role_for_public_id(*, session: Session, public_id: str, user_id: int | None) -> Access | None:
    """The access ``user_id`` has to the strategy ``public_id``; None also when there is no such strategy."""
    strategy = _by_public_id(session, public_id)
    if strategy is None:
        return None
    return role_for(session=session, strategy=strategy, user_id=user_id)


def require(*, session: Session, strategy: Strategy, user_id: int | None, at_least: Access) -> Access:
    """The caller's access if it includes ``at_least``; ``StrategyNotFound`` when the caller may not
    even read the strategy, ``Forbidden`` when they may read it but not do this."""
    access = role_for(session=session, strategy=strategy, user_id=user_id)
    if access is None:
        raise StrategyNotFound
    if not access.at_least(at_least):
        raise Forbidden(_NEEDS[at_least])
    return access


def require_reader(*, session: Session, strategy: Strategy, user_id: int | None) -> Access:
    """The caller's access, which lets them read ``strategy``; ``StrategyNotFound`` otherwise."""
    return require(session=session, strategy=strategy, user_id=user_id, at_least=Access.VIEWER)


def require_writer(*, session: Session, strategy: Strategy, user_id: int | None) -> Access:
    """The caller's access if they may change ``strategy``'s source and description (owner, editor)."""
    return require(session=session, strategy=strategy, user_id=user_id, at_least=Access.EDITOR)


def require_owner(*, session: Session, strategy: Strategy, user_id: int | None) -> Access:
    """``OWNER`` if the caller owns ``strategy``; errors as ``require`` otherwise."""
    return require(session=session, strategy=strategy, user_id=user_id, at_least=Access.OWNER)


def strategy_by_public_id(*, session: Session, public_id: str, user_id: int | None) -> Strategy:
    """The strategy ``public_id`` if ``user_id`` may read it; ``StrategyNotFound`` otherwise."""
    strategy = _by_public_id(session, public_id)
    if strategy is None:
        raise StrategyNotFound
    require_reader(session=session, strategy=strategy, user_id=user_id)
    return strategy


def _by_public_id(session: Session, public_id: str) -> Strategy | None:
    if not is_public_id(public_id):
        return None
    return session.exec(select(Strategy).where(col(Strategy.public_id) == public_id)).first()
