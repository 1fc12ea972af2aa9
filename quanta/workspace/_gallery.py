"""The gallery of public strategies (search, filter, sort, pages) and the verified backtest summaries it
shows and sorts by."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, UnaryExpression
from sqlmodel import Session, col, or_, select

from quanta.accounts.models import Profile, User
from quanta.workspace._checks import check_search_text, check_tag, is_username
from quanta.workspace._support import page
from quanta.workspace.errors import InvalidInput, VersionNotFound
from quanta.workspace.models import (
    GalleryQuery,
    GallerySort,
    Page,
    Strategy,
    StrategyTag,
    VerifiedBacktest,
    Visibility,
)

DEFAULT_PAGE = 20
MAX_WORDS = 10


def search_gallery(
    *, session: Session, query: GalleryQuery, offset: int = 0, limit: int = DEFAULT_PAGE
) -> Page[Strategy]:
    """Public strategies (of active accounts) matching ``query``, best first by ``query.sort``."""
    conditions = [
        col(Strategy.visibility) == Visibility.PUBLIC,
        col(User.disabled).is_(False),
        *_text_conditions(query.text),
    ]
    if query.tag is not None and query.tag.strip():
        tag = check_tag(query.tag.strip().lower(), field="tag")
        tagged = select(StrategyTag.strategy_id).where(col(StrategyTag.tag) == tag)
        conditions.append(col(Strategy.id).in_(tagged))
    if query.author is not None and query.author.strip():
        author = query.author.strip().lower()
        if not is_username(author):
            return Page(items=[], next_offset=None)
        by_author = select(Profile.user_id).where(col(Profile.username) == author)
        conditions.append(col(Strategy.owner_id).in_(by_author))
    statement = (
        select(Strategy)
        .join(User, col(User.id) == col(Strategy.owner_id))
        .where(*conditions)
        .order_by(*_order(query.sort))
    )
    return page(session, statement, offset=offset, limit=limit)


def _text_conditions(text: str) -> list[ColumnElement[bool]]:
    words = check_search_text(text, field="q").split()
    if len(words) > MAX_WORDS:
        raise InvalidInput("q", f"Search with at most {MAX_WORDS} words.")
    return [
        or_(
            col(Strategy.title).icontains(word, autoescape=True),
            col(Strategy.description).icontains(word, autoescape=True),
        )
        for word in words
    ]


def _order(sort: GallerySort) -> list[UnaryExpression[Any]]:
    recent: list[UnaryExpression[Any]] = [col(Strategy.updated_at).desc(), col(Strategy.id).desc()]
    leading: dict[GallerySort, list[UnaryExpression[Any]]] = {
        GallerySort.STARS: [col(Strategy.star_count).desc()],
        GallerySort.FORKS: [col(Strategy.fork_count).desc()],
        GallerySort.RECENT: [],
        GallerySort.SHARPE: [col(Strategy.verified_sharpe).desc().nulls_last()],
        GallerySort.RETURN: [col(Strategy.verified_return_pct).desc().nulls_last()],
    }
    return [*leading[sort], *recent]


def record_verified_backtest(*, session: Session, strategy: Strategy, backtest: VerifiedBacktest) -> Strategy:
    """Keep ``backtest`` as ``strategy``'s verified backtest unless the one it has is newer.

    Called by the sandboxed workers once a run of one of the strategy's versions is receipted; the
    person who asked for the run was authorised when the job was submitted.
    """
    if backtest.as_of.utcoffset() is None:
        raise InvalidInput("as_of", "Give the time of the backtest with its time zone (UTC).")
    if backtest.version is not None and not 1 <= backtest.version <= strategy.latest_version:
        raise VersionNotFound(f"This strategy has no version {backtest.version}.")
    as_of = backtest.as_of.astimezone(UTC)
    if strategy.verified_at is not None and _aware(strategy.verified_at) > as_of:
        return strategy
    strategy.verified_run_id = backtest.run_id
    strategy.verified_receipt_hash = backtest.receipt_hash
    strategy.verified_version = backtest.version
    strategy.verified_return_pct = backtest.return_pct
    strategy.verified_sharpe = backtest.sharpe
    strategy.verified_max_drawdown_pct = backtest.max_drawdown_pct
    strategy.verified_at = as_of
    session.add(strategy)
    session.flush()
    return strategy


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; they were stored as UTC."""
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=UTC)
