"""Alembic environment: runs on the connection handed over by ``quanta.db.migrate``."""

from alembic import context
from sqlalchemy import engine_from_config, pool
from sqlmodel import SQLModel

import quanta.models  # noqa: F401  (registers every table on SQLModel.metadata)

config = context.config
target_metadata = SQLModel.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}), poolclass=pool.NullPool
    )
    with connectable.connect() as fresh:
        _run(fresh)


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
