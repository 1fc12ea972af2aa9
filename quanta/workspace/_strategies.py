"""Strategies: create, change, delete, list; and the view of a strategy a given person gets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, delete, select
from sqlmodel.sql.expression import SelectOfScalar

from quanta.accounts.events import AuditKind
from quanta.accounts.models import User
from quanta.workspace._cascade import delete_strategies
from quanta.workspace._checks import check_description, check_source, check_tags, check_title
from quanta.workspace._support import (
    audit,
    current_time,
    new_public_id,
    page,
    strategy_pk,
    user_pk,
    usernames,
)
from quanta.workspace._versions import add_version
from quanta.workspace.access import require_owner, require_writer, roles_for
from quanta.workspace.errors import Forbidden
from quanta.workspace.models import (
    Access,
    ForkOrigin,
    Page,
    Strategy,
    StrategyCollaborator,
    StrategyCreate,
    StrategyPublic,
    StrategyStar,
    StrategyTag,
    StrategyUpdate,
    Visibility,
)

DEFAULT_PAGE = 50


def create_strategy(
    *, session: Session, owner: User, strategy_in: StrategyCreate, now: datetime | None = None
) -> Strategy:
    """A new strategy of ``owner``; with ``strategy_in.source``, its version 1 is saved too."""
    now = current_time(now)
    source = check_source(strategy_in.source) if strategy_in.source is not None else None
    strategy = Strategy(
        public_id=new_public_id(),
        owner_id=user_pk(owner),
        title=check_title(strategy_in.title),
        description=check_description(strategy_in.description),
        visibility=strategy_in.visibility,
        tags=check_tags(strategy_in.tags),
        created_at=now,
        updated_at=now,
    )
    session.add(strategy)
    session.flush()
    set_tags(session, strategy, strategy.tags)
    if source is not None:
        add_version(
            session, strategy, source=source, message=strategy_in.message, author_id=owner.id, now=now
        )
    if strategy.visibility is not Visibility.PRIVATE:
        _audit_visibility(session, owner, strategy, before=None, now=now)
    session.flush()
    return strategy


def update_strategy(
    *,
    session: Session,
    actor: User,
    strategy: Strategy,
    strategy_in: StrategyUpdate,
    now: datetime | None = None,
) -> Strategy:
    """Change title, description, tags (owner and editors) or visibility (owner only)."""
    now = current_time(now)
    access = require_writer(session=session, strategy=strategy, user_id=actor.id)
    changes = strategy_in.model_dump(exclude_unset=True, exclude_none=True)
    before = strategy.visibility
    if "visibility" in changes and changes["visibility"] != before and access is not Access.OWNER:
        raise Forbidden("Only the owner can change who may see this strategy.")
    if "title" in changes:
        strategy.title = check_title(changes["title"])
    if "description" in changes:
        strategy.description = check_description(changes["description"])
    if "tags" in changes:
        strategy.tags = check_tags(changes["tags"])
        set_tags(session, strategy, strategy.tags)
    if "visibility" in changes:
        strategy.visibility = Visibility(changes["visibility"])
    strategy.updated_at = now
    session.add(strategy)
    if strategy.visibility is not before:
        _audit_visibility(session, actor, strategy, before=before, now=now)
    session.flush()
    return strategy


def delete_strategy(
    *, session: Session, actor: User, strategy: Strategy, now: datetime | None = None
) -> None:
    """Delete ``strategy`` with its versions, stars and collaborators (owner only). Its forks stay."""
    now = current_time(now)
    require_owner(session=session, strategy=strategy, user_id=actor.id)
    audit(session, AuditKind.STRATEGY_DELETED, now=now, actor=actor, strategy=strategy)
    session.flush()
    delete_strategies(session.connection(), [strategy_pk(strategy)])
    session.expunge(strategy)


def list_own_strategies(
    *, session: Session, user: User, offset: int = 0, limit: int = DEFAULT_PAGE
) -> Page[Strategy]:
    """``user``'s strategies, most recently changed first."""
    query = select(Strategy).where(col(Strategy.owner_id) == user_pk(user))
    return page(session, _recent_first(query), offset=offset, limit=limit)


def list_shared_strategies(
    *, session: Session, user: User, offset: int = 0, limit: int = DEFAULT_PAGE
) -> Page[Strategy]:
    """Strategies shared with ``user`` as a collaborator, most recently changed first."""
    shared = select(StrategyCollaborator.strategy_id).where(
        col(StrategyCollaborator.user_id) == user_pk(user)
    )
    query = select(Strategy).where(col(Strategy.id).in_(shared))
    return page(session, _recent_first(query), offset=offset, limit=limit)


def _recent_first(query: SelectOfScalar[Strategy]) -> SelectOfScalar[Strategy]:
    return query.order_by(col(Strategy.updated_at).desc(), col(Strategy.id).desc())


def set_tags(session: Session, strategy: Strategy, tags: list[str]) -> None:
    """Make the tag index of ``strategy`` hold exactly ``tags``."""
    strategy_id = strategy_pk(strategy)
    session.exec(delete(StrategyTag).where(col(StrategyTag.strategy_id) == strategy_id))
    session.add_all(StrategyTag(strategy_id=strategy_id, tag=tag) for tag in tags)


def _audit_visibility(
    session: Session, actor: User, strategy: Strategy, *, before: Visibility | None, now: datetime
) -> None:
    kind = (
        AuditKind.STRATEGY_PUBLISHED
        if strategy.visibility is Visibility.PUBLIC
        else AuditKind.STRATEGY_VISIBILITY_CHANGED
    )
    before_value = before.value if before is not None else None
    audit(
        session,
        kind,
        now=now,
        actor=actor,
        strategy=strategy,
        before=before_value,
        after=strategy.visibility.value,
    )


# ---- views ---------------------------------------------------------------------------------------------


def strategy_views(
    *, session: Session, strategies: Sequence[Strategy], user_id: int | None
) -> list[StrategyPublic]:
    """``strategies`` as ``user_id`` sees them (their role, their star, the originals they may read)."""
    parent_ids = {s.forked_from_id for s in strategies if s.forked_from_id is not None}
    parents = (
        list(session.exec(select(Strategy).where(col(Strategy.id).in_(parent_ids)))) if parent_ids else []
    )
    parent_roles = roles_for(session=session, strategies=parents, user_id=user_id)
    readable_parents = {strategy_pk(p): p for p in parents if parent_roles.get(strategy_pk(p)) is not None}
    names = usernames(session, [s.owner_id for s in strategies] + [p.owner_id for p in parents])
    roles = roles_for(session=session, strategies=strategies, user_id=user_id)
    starred = _starred(session, strategies, user_id)
    return [
        _view(
            s,
            names=names,
            role=roles.get(strategy_pk(s)),
            starred=strategy_pk(s) in starred,
            parents=readable_parents,
        )
        for s in strategies
    ]


def strategy_view(*, session: Session, strategy: Strategy, user_id: int | None) -> StrategyPublic:
    """One strategy as ``user_id`` sees it."""
    return strategy_views(session=session, strategies=[strategy], user_id=user_id)[0]


def _starred(session: Session, strategies: Sequence[Strategy], user_id: int | None) -> set[int]:
    ids = [strategy_pk(s) for s in strategies]
    if user_id is None or not ids:
        return set()
    rows = session.exec(
        select(StrategyStar.strategy_id).where(
            col(StrategyStar.user_id) == user_id, col(StrategyStar.strategy_id).in_(ids)
        )
    )
    return set(rows.all())


def _view(
    strategy: Strategy,
    *,
    names: dict[int, str],
    role: Access | None,
    starred: bool,
    parents: dict[int, Strategy],
) -> StrategyPublic:
    parent = parents.get(strategy.forked_from_id) if strategy.forked_from_id is not None else None
    origin = (
        ForkOrigin(
            id=parent.public_id,
            title=parent.title,
            owner=names.get(parent.owner_id, ""),
            version=strategy.forked_from_version,
        )
        if parent is not None
        else None
    )
    return StrategyPublic(
        id=strategy.public_id,
        title=strategy.title,
        description=strategy.description,
        visibility=strategy.visibility,
        owner=names.get(strategy.owner_id, ""),
        tags=list(strategy.tags),
        created_at=strategy.created_at,
        updated_at=strategy.updated_at,
        latest_version=strategy.latest_version,
        fork_count=strategy.fork_count,
        star_count=strategy.star_count,
        is_fork=strategy.forked_from_version is not None,
        forked_from=origin,
        verified_backtest=strategy.verified_backtest,
        role=role,
        starred=starred,
    )
