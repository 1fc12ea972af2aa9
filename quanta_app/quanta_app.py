"""The Reflex app. Each route lives in its own module under ``quanta_app.pages``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import reflex as rx

from quanta import db
from quanta_app.api import build_api
from quanta_app.pages import index, markets  # noqa: F401  (registers the pages)


@asynccontextmanager
async def migrate_app_database() -> AsyncIterator[None]:
    """Apply pending app-database migrations before serving; close pooled connections after."""
    await asyncio.to_thread(db.migrate)
    yield
    db.dispose_engines()


app = rx.App(api_transformer=build_api())
app.register_lifespan_task(migrate_app_database)
