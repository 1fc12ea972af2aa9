"""Versions: immutable snapshots of a strategy's source, numbered 1, 2, 3… per strategy.

Saving takes the next number with one atomic ``UPDATE … RETURNING`` on the strategy row, so concurrent
saves (two editors, two workers) get different numbers; the unique (strategy, number) constraint backs
it up. Restoring saves a new version with an old one's source: history is never rewritten.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from quanta.accounts.models import User
from quanta.workspace._checks import check_message, check_source
from quanta.workspace._diff import diff_sources
from quanta.workspace._support import bump, current_time, page, strategy_pk, usernames
from quanta.workspace.access import require_reader, require_writer
from quanta.workspace.errors import Conflict, InvalidInput, VersionNotFound
from quanta.workspace.models import (
    Page,
    Strategy,
    StrategyVersion,
    VersionCreate,
    VersionDiff,
    VersionPublic,
    VersionSummary,
)

DEFAULT_PAGE = 50
MAX_CONTEXT = 1000


def create_version(
    *,
    session: Session,
    actor: User,
    strategy: Strategy,
    version_in: VersionCreate,
    now: datetime | None = None,
) -> StrategyVersion:
    """Save ``version_in.source`` as the next version (owner and editors). The source must parse as
    Python (``InvalidSource`` gives the line and column); an unchanged source is a ``Conflict``."""
    now = current_time(now)
    require_writer(session=session, strategy=strategy, user_id=actor.id)
    source = check_source(version_in.source)
    return add_version(
        session, strategy, source=source, message=version_in.message, author_id=actor.id, now=now
    )


def restore_version(
    *,
    session: Session,
    actor: User,
    strategy: Strategy,
    number: int,
    message: str | None = None,
    now: datetime | None = None,
) -> StrategyVersion:
    """Save version ``number``'s source again as the newest version (owner and editors)."""
    now = current_time(now)
    require_writer(session=session, strategy=strategy, user_id=actor.id)
    old = _version(session, strategy, number)
    text = message if message is not None else f"Restore version {number}"
    return add_version(
        session, strategy, source=old.source, message=text, author_id=actor.id, now=now, restored_from=number
    )


def list_versions(
    *,
    session: Session,
    strategy: Strategy,
    user_id: int | None,
    offset: int = 0,
    limit: int = DEFAULT_PAGE,
) -> Page[StrategyVersion]:
    """The versions of ``strategy``, newest first (sources not loaded until read)."""
    require_reader(session=session, strategy=strategy, user_id=user_id)
    query = (
        select(StrategyVersion)
        .options(defer(StrategyVersion.source))  # type: ignore[arg-type]
        .where(col(StrategyVersion.strategy_id) == strategy_pk(strategy))
        .order_by(col(StrategyVersion.number).desc())
    )
    return page(session, query, offset=offset, limit=limit)


def get_version(
    *, session: Session, strategy: Strategy, user_id: int | None, number: int | None = None
) -> StrategyVersion:
    """Version ``number`` of ``strategy`` (default: the latest); ``VersionNotFound`` if there is none."""
    require_reader(session=session, strategy=strategy, user_id=user_id)
    return _version(session, strategy, strategy.latest_version if number is None else number)


def diff_versions(
    *,
    session: Session,
    strategy: Strategy,
    user_id: int | None,
    old: int,
    new: int,
    context: int = 3,
) -> VersionDiff:
    """What changed from version ``old`` to version ``new`` (either order), with ``context`` lines."""
    require_reader(session=session, strategy=strategy, user_id=user_id)
    if not 0 <= context <= MAX_CONTEXT:
        raise InvalidInput("context", f"Ask for 0 to {MAX_CONTEXT} lines of context.")
    before, after = _version(session, strategy, old), _version(session, strategy, new)
    unified, hunks = diff_sources(
        before.source, after.source, old_label=f"v{old}", new_label=f"v{new}", context=context
    )
    lines = [line for hunk in hunks for line in hunk.lines]
    return VersionDiff(
        old_version=old,
        new_version=new,
        unified=unified,
        hunks=hunks,
        added=sum(line.kind == "add" for line in lines),
        removed=sum(line.kind == "remove" for line in lines),
    )


def version_summaries(*, session: Session, versions: Sequence[StrategyVersion]) -> list[VersionSummary]:
    """``versions`` as listed, with their authors' usernames."""
    names = usernames(session, (v.author_id for v in versions))
    return [
        VersionSummary(
            number=v.number,
            message=v.message,
            author=names.get(v.author_id) if v.author_id is not None else None,
            created_at=v.created_at,
            restored_from=v.restored_from,
        )
        for v in versions
    ]


def version_view(*, session: Session, version: StrategyVersion) -> VersionPublic:
    """One version with its source and its author's username."""
    summary = version_summaries(session=session, versions=[version])[0]
    return VersionPublic(**summary.model_dump(), source=version.source)


def add_version(
    session: Session,
    strategy: Strategy,
    *,
    source: str,
    message: str,
    author_id: int | None,
    now: datetime,
    restored_from: int | None = None,
) -> StrategyVersion:
    """Store ``source`` (already checked) as the next version of ``strategy``; the caller authorised it."""
    text = check_message(message)
    if strategy.latest_version > 0:
        latest = _version(session, strategy, strategy.latest_version)
        if latest.source == source:
            raise Conflict(f"Nothing to save: the source is the same as version {latest.number}.")
    number = bump(session, strategy, "latest_version", 1, updated_at=now)
    version = StrategyVersion(
        strategy_id=strategy_pk(strategy),
        number=number,
        source=source,
        message=text,
        author_id=author_id,
        created_at=now,
        restored_from=restored_from,
    )
    session.add(version)
    session.flush()
    return version


def _version(session: Session, strategy: Strategy, number: int) -> StrategyVersion:
    version = session.exec(
        select(StrategyVersion).where(
            col(StrategyVersion.strategy_id) == strategy_pk(strategy), col(StrategyVersion.number) == number
        )
    ).first()
    if version is None:
        raise VersionNotFound(f"This strategy has no version {number}.")
    return version
