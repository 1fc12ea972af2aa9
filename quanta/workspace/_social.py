"""Forks with their lineage, and stars.

A fork is a new private strategy of the person forking, starting from one version of a strategy they
may read; it remembers where it came from (``forked_from_id`` and ``forked_from_version``). Lineage is
shown both ways, hiding the strategies the viewer may not read. Stars are idempotent: starring twice,
even at the same moment from two tabs, counts once (``INSERT … ON CONFLICT DO NOTHING``).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from quanta.accounts.events import AuditKind
from quanta.accounts.models import User
from quanta.workspace._checks import check_title, is_public_id
from quanta.workspace._strategies import set_tags
from quanta.workspace._support import (
    audit,
    bump,
    current_time,
    new_public_id,
    page,
    strategy_pk,
    table,
    user_pk,
    usernames,
)
from quanta.workspace._versions import add_version, get_version
from quanta.workspace.access import readable_by, require_reader, role_for
from quanta.workspace.errors import Conflict
from quanta.workspace.models import (
    ForkCreate,
    Lineage,
    LineageEntry,
    Page,
    Strategy,
    StrategyStar,
    Visibility,
)

DEFAULT_PAGE = 50
MAX_LINEAGE_FORKS = 100
MAX_ANCESTORS = 100


def fork_strategy(
    *,
    session: Session,
    actor: User,
    strategy: Strategy,
    fork_in: ForkCreate | None = None,
    now: datetime | None = None,
) -> Strategy:
    """A new private strategy of ``actor`` with the source of one version of ``strategy`` (default: its
    latest), its description and tags, and its title unless ``fork_in.title`` gives another."""
    now = current_time(now)
    fork_in = fork_in or ForkCreate()
    require_reader(session=session, strategy=strategy, user_id=actor.id)
    if strategy.latest_version == 0:
        raise Conflict("This strategy has no version to fork yet.")
    origin = get_version(session=session, strategy=strategy, user_id=actor.id, number=fork_in.version)
    fork = Strategy(
        public_id=new_public_id(),
        owner_id=user_pk(actor),
        title=check_title(fork_in.title if fork_in.title is not None else strategy.title),
        description=strategy.description,
        visibility=Visibility.PRIVATE,
        tags=list(strategy.tags),
        forked_from_id=strategy_pk(strategy),
        forked_from_version=origin.number,
        created_at=now,
        updated_at=now,
    )
    session.add(fork)
    session.flush()
    set_tags(session, fork, fork.tags)
    owner = usernames(session, [strategy.owner_id]).get(strategy.owner_id, "someone")
    message = f"Forked from {owner}/{strategy.public_id} version {origin.number}"
    add_version(session, fork, source=origin.source, message=message, author_id=actor.id, now=now)
    bump(session, strategy, "fork_count", 1)
    audit(
        session,
        AuditKind.STRATEGY_FORKED,
        now=now,
        actor=actor,
        strategy=strategy,
        subject_id=strategy.owner_id,
        version=origin.number,
        fork=fork.public_id,
    )
    session.flush()
    return fork


def list_forks(
    *,
    session: Session,
    strategy: Strategy,
    user_id: int | None,
    offset: int = 0,
    limit: int = DEFAULT_PAGE,
) -> Page[Strategy]:
    """The direct forks of ``strategy`` that ``user_id`` may read, newest first."""
    require_reader(session=session, strategy=strategy, user_id=user_id)
    query = (
        select(Strategy)
        .where(col(Strategy.forked_from_id) == strategy_pk(strategy), readable_by(user_id))
        .order_by(col(Strategy.created_at).desc(), col(Strategy.id).desc())
    )
    return page(session, query, offset=offset, limit=limit)


def lineage(*, session: Session, strategy: Strategy, user_id: int | None) -> Lineage:
    """Where ``strategy`` comes from (parent first) and its direct forks, as ``user_id`` may see them."""
    require_reader(session=session, strategy=strategy, user_id=user_id)
    ancestors = _ancestors(session, strategy, user_id)
    forks = list_forks(session=session, strategy=strategy, user_id=user_id, limit=MAX_LINEAGE_FORKS).items
    names = usernames(session, [s.owner_id for s in forks] + [strategy.owner_id])
    return Lineage(
        ancestors=ancestors,
        forks=[_entry(f, names, version=f.forked_from_version) for f in forks],
        fork_count=strategy.fork_count,
    )


def _ancestors(session: Session, strategy: Strategy, user_id: int | None) -> list[LineageEntry]:
    entries: list[LineageEntry] = []
    current = strategy
    while current.forked_from_version is not None and len(entries) < MAX_ANCESTORS:
        version = current.forked_from_version
        parent = session.get(Strategy, current.forked_from_id) if current.forked_from_id is not None else None
        if parent is None:
            entries.append(LineageEntry(visible=False, version=version))
            break
        if role_for(session=session, strategy=parent, user_id=user_id) is None:
            entries.append(LineageEntry(visible=False, version=version))
        else:
            names = usernames(session, [parent.owner_id])
            entries.append(_entry(parent, names, version=version))
        current = parent
    return entries


def _entry(strategy: Strategy, names: dict[int, str], *, version: int | None) -> LineageEntry:
    return LineageEntry(
        visible=True,
        id=strategy.public_id,
        title=strategy.title,
        owner=names.get(strategy.owner_id, ""),
        version=version,
        fork_count=strategy.fork_count,
    )


# ---- stars ---------------------------------------------------------------------------------------------


def star_strategy(
    *, session: Session, actor: User, strategy: Strategy, now: datetime | None = None
) -> Strategy:
    """Star ``strategy`` for ``actor`` (anyone who may read it); starring again changes nothing."""
    now = current_time(now)
    require_reader(session=session, strategy=strategy, user_id=actor.id)
    values = {"strategy_id": strategy_pk(strategy), "user_id": user_pk(actor), "created_at": now}
    if _insert_new(session, values):
        bump(session, strategy, "star_count", 1)
    return strategy


def unstar_strategy(*, session: Session, actor: User, strategy: Strategy) -> Strategy:
    """Take ``actor``'s star off ``strategy``; unstarring again changes nothing. A star may be taken off
    a strategy that has since become private to ``actor``."""
    if not has_starred(session=session, strategy=strategy, user_id=user_pk(actor)):
        require_reader(session=session, strategy=strategy, user_id=actor.id)
        return strategy
    stars = table(StrategyStar)
    mine = sa.and_(stars.c.strategy_id == strategy_pk(strategy), stars.c.user_id == user_pk(actor))
    if session.exec(sa.delete(stars).where(mine)).rowcount:
        bump(session, strategy, "star_count", -1)
    return strategy


def starred_strategy(*, session: Session, public_id: str, user_id: int) -> Strategy | None:
    """The strategy ``public_id`` if ``user_id`` has starred it (even if they may no longer read it: they
    may still take the star off), else None."""
    if not is_public_id(public_id):
        return None
    query = (
        select(Strategy)
        .join(StrategyStar, col(StrategyStar.strategy_id) == col(Strategy.id))
        .where(col(Strategy.public_id) == public_id, col(StrategyStar.user_id) == user_id)
    )
    return session.exec(query).first()


def has_starred(*, session: Session, strategy: Strategy, user_id: int | None) -> bool:
    """Whether ``user_id`` has starred ``strategy``."""
    if user_id is None:
        return False
    query = select(StrategyStar.user_id).where(
        col(StrategyStar.strategy_id) == strategy_pk(strategy), col(StrategyStar.user_id) == user_id
    )
    return session.exec(query).first() is not None


def _insert_new(session: Session, values: dict[str, object]) -> bool:
    """Insert a star unless it exists (also against a concurrent insert); whether it was inserted."""
    stars = table(StrategyStar)
    dialect = session.connection().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(stars)
        .values(values)
        .on_conflict_do_nothing(index_elements=["strategy_id", "user_id"])
        .returning(stars.c.user_id)
    )
    return session.exec(statement).first() is not None
