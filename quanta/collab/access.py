"""Who is connecting and what they may do: the browser session behind a websocket's cookie, and the
default authorizer and seed, which ask the strategy workspace (imported when first called)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlmodel import Session, col, select

from quanta import db
from quanta.accounts.service import resolve_session, session_token_in
from quanta.settings import Settings


def session_user(cookies: Mapping[str, str], *, settings: Settings) -> int | None:
    """The signed-in person of a request's session cookie (the ``__Host-`` one over https), or None.

    The same rule as ``quanta.api.deps.browser_session``, for a websocket rather than a request.
    """
    token = session_token_in(cookies)
    if not token:
        return None
    with db.session(settings) as unit:
        current = resolve_session(session=unit, token=token)
        return current.user.id if current is not None else None


class WorkspaceAuthorizer:
    """The role the strategy workspace gives a person (``quanta.workspace.access.role_for_public_id``)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def __call__(self, *, public_id: str, user_id: int | None) -> str | None:
        from quanta.workspace.access import role_for_public_id  # noqa: PLC0415 - workspace imports late

        with db.session(self._settings) as unit:
            return role_for_public_id(session=unit, public_id=public_id, user_id=user_id)


class LatestVersionSeed:
    """The source of the strategy's latest saved version (None if it has none)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def __call__(self, public_id: str) -> str | None:
        from quanta.workspace.models import Strategy, StrategyVersion  # noqa: PLC0415

        query = (
            select(StrategyVersion.source)
            .join(Strategy, col(Strategy.id) == col(StrategyVersion.strategy_id))
            .where(Strategy.public_id == public_id, StrategyVersion.number == Strategy.latest_version)
        )
        with Session(db.engine(self._settings)) as unit:
            return unit.exec(query).first()


def no_seed(public_id: str) -> str | None:
    """Rooms start empty."""
    return None
