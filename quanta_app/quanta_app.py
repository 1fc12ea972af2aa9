"""The Reflex app. Each route lives in its own module under ``quanta_app.pages``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import reflex as rx

from quanta import db
from quanta.mail import deliver_pending, mailer_for
from quanta.sandbox import running_workers
from quanta.settings import get_settings
from quanta_app.api import build_api
from quanta_app.competitions import run_competitions
from quanta_app.live import run_live
from quanta_app.pages import (  # noqa: F401  (registers the pages)
    chat,
    competition,
    competitions,
    consent,
    embed,
    index,
    invitations,
    live,
    markets,
    orgs,
    profile,
    reset,
    results,
    security,
    settings,
    signin,
    signup,
    strategies,
    strategy,
    verify,
)
from quanta_app.paper import run_paper

MAIL_INTERVAL = 3.0
"""Seconds between two deliveries of the outbox."""
logger = logging.getLogger(__name__)


@asynccontextmanager
async def migrate_app_database() -> AsyncIterator[None]:
    """Apply pending app-database migrations before serving; close pooled connections after."""
    await asyncio.to_thread(db.migrate)
    yield
    db.dispose_engines()


def _deliver_outbox() -> None:
    with db.session() as unit:
        deliver_pending(session=unit, mailer=mailer_for(get_settings()))


async def deliver_mail() -> None:
    """Send pending outbox mail every few seconds (the console mailer prints it in development)."""
    while True:
        try:
            await asyncio.to_thread(_deliver_outbox)
        except Exception:  # a broken mail server must not stop the app; the outbox keeps the mail
            logger.exception("delivering the outbox failed")
        await asyncio.sleep(MAIL_INTERVAL)


@asynccontextmanager
async def sandbox_workers() -> AsyncIterator[None]:
    """Warm sandbox workers that run user strategies outside the web process (docs/sandbox.md)."""
    count = get_settings().sandbox_workers
    if count == 0:
        yield
        return
    with running_workers(get_settings(), count):
        yield


api = build_api()
app = rx.App(api_transformer=api)
app.register_lifespan_task(migrate_app_database)
app.register_lifespan_task(deliver_mail)
app.register_lifespan_task(run_live)
app.register_lifespan_task(run_competitions)  # scores running competitions onto their boards
app.register_lifespan_task(run_paper)  # the paper desk (docs/paper.md)
app.register_lifespan_task(sandbox_workers)
app.register_lifespan_task(api.state.quanta_collab.running)  # stores pending room edits at shutdown
