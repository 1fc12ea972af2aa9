"""Delete workspace rows with the strategy or person they belong to, keeping the counts right.

The tables declare ``ON DELETE CASCADE`` (and ``SET NULL`` where history outlives a person: version
authors, who added a collaborator, the original of a fork). PostgreSQL applies those; SQLite applies
them only on connections that switch foreign keys on, which the app's do not, and neither database
would fix the star and fork counts kept on strategies. So deleting strategies (``delete_strategies``)
and deleting people (the listeners below, whenever a session deletes users) do it all explicitly, in
the same unit of work.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from quanta.accounts.models import User
from quanta.workspace._support import table
from quanta.workspace.models import (
    Strategy,
    StrategyCollaborator,
    StrategyStar,
    StrategyTag,
    StrategyVersion,
)


def delete_strategies(connection: sa.Connection, ids: Sequence[int]) -> None:
    """Delete strategies with their versions, tags, stars and collaborators; their forks lose the link
    (and keep their version number), and the strategies they were forked from count one fork less."""
    if not ids:
        return
    strategies = table(Strategy)
    for model in (StrategyVersion, StrategyTag, StrategyStar, StrategyCollaborator):
        dependants = table(model)
        connection.execute(sa.delete(dependants).where(dependants.c.strategy_id.in_(ids)))
    parents = connection.execute(
        sa.select(strategies.c.forked_from_id, sa.func.count())
        .where(strategies.c.id.in_(ids), strategies.c.forked_from_id.is_not(None))
        .group_by(strategies.c.forked_from_id)
    ).all()
    for parent_id, forks in parents:
        _add(connection, "fork_count", parent_id, -int(forks))
    connection.execute(
        sa.update(strategies).where(strategies.c.forked_from_id.in_(ids)).values(forked_from_id=None)
    )
    connection.execute(sa.delete(strategies).where(strategies.c.id.in_(ids)))


def delete_user_dependants(connection: sa.Connection, users: Sequence[int]) -> None:
    """Before people are deleted: their strategies go (as ``delete_strategies``), their stars and
    collaborations go (stars counted off), and they are forgotten as authors of other people's versions."""
    strategies, stars = table(Strategy), table(StrategyStar)
    owned_query = sa.select(strategies.c.id).where(strategies.c.owner_id.in_(users))
    owned = [row[0] for row in connection.execute(owned_query)]
    delete_strategies(connection, owned)
    starred = connection.execute(
        sa.select(stars.c.strategy_id, sa.func.count())
        .where(stars.c.user_id.in_(users))
        .group_by(stars.c.strategy_id)
    ).all()
    for strategy_id, count in starred:
        _add(connection, "star_count", strategy_id, -int(count))
    connection.execute(sa.delete(stars).where(stars.c.user_id.in_(users)))
    collaborators, versions = table(StrategyCollaborator), table(StrategyVersion)
    connection.execute(sa.delete(collaborators).where(collaborators.c.user_id.in_(users)))
    connection.execute(
        sa.update(collaborators).where(collaborators.c.added_by_id.in_(users)).values(added_by_id=None)
    )
    connection.execute(sa.update(versions).where(versions.c.author_id.in_(users)).values(author_id=None))


def _add(connection: sa.Connection, column: str, strategy_id: int, by: int) -> None:
    strategies = table(Strategy)
    counter = strategies.c[column]
    new_value = sa.case((counter + by < 0, 0), else_=counter + by)
    connection.execute(
        sa.update(strategies).where(strategies.c.id == strategy_id).values({column: new_value})
    )


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, flush_context: UOWTransaction, instances: object) -> None:
    users = [o.id for o in session.deleted if isinstance(o, User) and o.id is not None]
    if users:
        delete_user_dependants(session.connection(), users)


@event.listens_for(Session, "do_orm_execute")
def _before_bulk_delete(state: ORMExecuteState) -> None:
    if not state.is_delete:
        return
    target = getattr(state.statement, "table", None)
    if target is None or getattr(target, "name", None) != User.__tablename__:
        return
    where = state.statement.whereclause  # type: ignore[attr-defined]
    query = sa.select(target.c.id) if where is None else sa.select(target.c.id).where(where)
    connection = state.session.connection()
    ids = [row[0] for row in connection.execute(query)]
    if ids:
        delete_user_dependants(connection, ids)
