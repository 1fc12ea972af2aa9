"""Delete OAuth and API rows with the person or client they belong to, on SQLite too.

The tables declare ``ON DELETE CASCADE``, which PostgreSQL applies; SQLite applies it only on connections
that switch foreign keys on, which the app's do not. Without this, an identity, grant or backtest of a
deleted account would outlive it and pass to the next account SQLite gives the same id. So whenever a
session deletes users or API clients (one by one or in bulk), their dependants go first, in the same
unit of work.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlmodel import SQLModel

from quanta.accounts.models import ApiClient, User
from quanta.api.models import ApiBacktest
from quanta.oauth.models import (
    OAuthAccessToken,
    OAuthAuthorizationCode,
    OAuthGrant,
    OAuthIdentity,
    OAuthRefreshToken,
)

_OWNERS = {"user_account", "api_client"}


def delete_dependants(connection: sa.Connection, *, users: Sequence[int], clients: Sequence[int]) -> None:
    """Delete what hangs off these users and clients (their grants with tokens and codes, identities,
    backtests)."""
    grants, codes = _table(OAuthGrant), _table(OAuthAuthorizationCode)
    identities, backtests = _table(OAuthIdentity), _table(ApiBacktest)
    owned = sa.or_(grants.c.user_id.in_(users), grants.c.api_client_id.in_(clients))
    grant_ids = [row[0] for row in connection.execute(sa.select(grants.c.id).where(owned))]
    for tokens in (_table(OAuthAccessToken), _table(OAuthRefreshToken)):
        connection.execute(sa.delete(tokens).where(tokens.c.grant_id.in_(grant_ids)))
    code_owned = sa.or_(
        codes.c.user_id.in_(users), codes.c.api_client_id.in_(clients), codes.c.grant_id.in_(grant_ids)
    )
    connection.execute(sa.delete(codes).where(code_owned))
    connection.execute(sa.delete(grants).where(grants.c.id.in_(grant_ids)))
    connection.execute(sa.delete(identities).where(identities.c.user_id.in_(users)))
    backtest_owned = sa.or_(backtests.c.owner_user_id.in_(users), backtests.c.owner_client_id.in_(clients))
    connection.execute(sa.delete(backtests).where(backtest_owned))


def _table(model: type[SQLModel]) -> sa.Table:
    return SQLModel.metadata.tables[str(model.__tablename__)]


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, flush_context: UOWTransaction, instances: object) -> None:
    users = [o.id for o in session.deleted if isinstance(o, User) and o.id is not None]
    clients = [o.id for o in session.deleted if isinstance(o, ApiClient) and o.id is not None]
    if users or clients:
        delete_dependants(session.connection(), users=users, clients=clients)


@event.listens_for(Session, "do_orm_execute")
def _before_bulk_delete(state: ORMExecuteState) -> None:
    if not state.is_delete:
        return
    table = getattr(state.statement, "table", None)
    if table is None or getattr(table, "name", None) not in _OWNERS:
        return
    where = state.statement.whereclause  # type: ignore[attr-defined]
    query = sa.select(table.c.id) if where is None else sa.select(table.c.id).where(where)
    connection = state.session.connection()
    ids = [row[0] for row in connection.execute(query)]
    if ids:
        owner = table.name
        delete_dependants(
            connection,
            users=ids if owner == "user_account" else [],
            clients=ids if owner == "api_client" else [],
        )
