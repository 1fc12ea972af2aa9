"""``quanta admin grant|revoke EMAIL``: make an account a site admin (admins organise competitions, moderate
chat everywhere) or stop it being one. The app database is migrated first, so this works on a fresh one."""

from __future__ import annotations

import click

from quanta import db
from quanta.competitions.service import grant_admin
from quanta.settings import get_settings


@click.group()
def admin() -> None:
    """Site administrators."""


@admin.command()
@click.argument("email")
def grant(email: str) -> None:
    """Make the account with EMAIL a site admin."""
    _set_admin(email, admin=True)
    click.echo(f"{email} is a site admin")


@admin.command()
@click.argument("email")
def revoke(email: str) -> None:
    """Make the account with EMAIL an ordinary account again."""
    _set_admin(email, admin=False)
    click.echo(f"{email} is no longer a site admin")


def _set_admin(email: str, *, admin: bool) -> None:
    settings = get_settings()
    db.migrate(settings)
    with db.session(settings) as unit:
        grant_admin(session=unit, email=email, admin=admin)
