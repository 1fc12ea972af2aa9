"""The gallery on SQLite and PostgreSQL: only public strategies of active accounts, found by words, tag
and author, sorted by stars, forks, recency or the verified backtest, in pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlmodel import Session

from quanta.accounts.models import User
from quanta.testing.clock import FakeClock
from quanta.workspace.errors import InvalidInput, VersionNotFound
from quanta.workspace.models import GalleryQuery, GallerySort, Strategy, VerifiedBacktest, Visibility
from quanta.workspace.service import fork_strategy, record_verified_backtest, search_gallery, star_strategy
from tests.workspace.conftest import BACKENDS, People, make_strategy

pytestmark = pytest.mark.parametrize("app_database", BACKENDS, indirect=True)


def titles(unit: Session, **query: object) -> list[str]:
    found = search_gallery(session=unit, query=GalleryQuery.model_validate(query), limit=100)
    return [s.title for s in found.items]


def verified(
    unit: Session, clock: FakeClock, strategy: Strategy, *, sharpe: float | None, ret: float
) -> None:
    backtest = VerifiedBacktest(
        run_id=f"run-{strategy.public_id}",
        receipt_hash="ab" * 32,
        version=1,
        return_pct=ret,
        sharpe=sharpe,
        max_drawdown_pct=-12.5,
        as_of=clock.now(),
    )
    record_verified_backtest(session=unit, strategy=strategy, backtest=backtest)
    unit.commit()


@pytest.fixture
def shelf(unit: Session, clock: FakeClock, people: People) -> dict[str, Strategy]:
    """Four public strategies (by olga and sam), one unlisted and one private, made a minute apart."""
    made: dict[str, Strategy] = {}
    specs: list[tuple[str, User, Visibility, str, list[str]]] = [
        ("Golden cross", people.owner, Visibility.PUBLIC, "Moving averages, 50 over 200.", ["trend"]),
        ("RSI bounce", people.owner, Visibility.PUBLIC, "Buys oversold dips_100%.", ["mean-reversion"]),
        ("Pairs: KO/PEP", people.stranger, Visibility.PUBLIC, "Cointegrated pair, trend filter.", ["pairs"]),
        ("Breakout", people.stranger, Visibility.PUBLIC, "New highs.", ["trend", "breakout"]),
        ("Hidden cross", people.owner, Visibility.UNLISTED, "Moving averages too.", ["trend"]),
        ("Secret cross", people.owner, Visibility.PRIVATE, "Moving averages as well.", ["trend"]),
    ]
    for title, owner, visibility, description, tags in specs:
        clock.advance(minutes=1)
        made[title] = make_strategy(
            unit, clock, owner, title=title, visibility=visibility, description=description, tags=tags
        )
    return made


def test_only_public_strategies_are_listed_newest_first(unit: Session, shelf: dict[str, Strategy]) -> None:
    assert titles(unit, sort="recent") == ["Breakout", "Pairs: KO/PEP", "RSI bounce", "Golden cross"]


def test_search_by_words_tag_and_author(unit: Session, shelf: dict[str, Strategy]) -> None:
    assert titles(unit, text="CROSS", sort="recent") == ["Golden cross"]
    assert titles(unit, text="moving averages", sort="recent") == ["Golden cross"]
    assert titles(unit, text="trend", sort="recent") == ["Pairs: KO/PEP"]
    assert titles(unit, text="dips_1", sort="recent") == ["RSI bounce"]
    assert titles(unit, text="dips%", sort="recent") == []
    assert titles(unit, tag="Trend", sort="recent") == ["Breakout", "Golden cross"]
    assert titles(unit, author="sam", sort="recent") == ["Breakout", "Pairs: KO/PEP"]
    assert titles(unit, author="sam", tag="trend") == ["Breakout"]
    assert titles(unit, author="nobody") == []
    assert titles(unit, author="Not a username!") == []


def test_bad_filters_are_refused(unit: Session, shelf: dict[str, Strategy]) -> None:
    with pytest.raises(InvalidInput) as caught:
        titles(unit, tag="no spaces")
    assert caught.value.field == "tag"
    with pytest.raises(InvalidInput):
        titles(unit, text="a\x00b")
    with pytest.raises(ValidationError):
        titles(unit, sort="popularity")


def test_sorted_by_stars_then_forks(
    unit: Session, clock: FakeClock, people: People, shelf: dict[str, Strategy]
) -> None:
    for person in (people.owner, people.editor, people.viewer):
        star_strategy(session=unit, actor=person, strategy=shelf["Pairs: KO/PEP"], now=clock.now())
    star_strategy(session=unit, actor=people.viewer, strategy=shelf["Golden cross"], now=clock.now())
    for person in (people.editor, people.viewer):
        fork_strategy(session=unit, actor=person, strategy=shelf["RSI bounce"], now=clock.now())
    unit.commit()

    assert titles(unit, sort="stars") == ["Pairs: KO/PEP", "Golden cross", "Breakout", "RSI bounce"]
    assert titles(unit, sort="forks") == ["RSI bounce", "Breakout", "Pairs: KO/PEP", "Golden cross"]


def test_sorted_by_verified_sharpe_or_return_with_unverified_last(
    unit: Session, clock: FakeClock, shelf: dict[str, Strategy]
) -> None:
    verified(unit, clock, shelf["Golden cross"], sharpe=0.8, ret=40.0)
    verified(unit, clock, shelf["RSI bounce"], sharpe=1.6, ret=12.0)
    verified(unit, clock, shelf["Pairs: KO/PEP"], sharpe=None, ret=-3.0)

    assert titles(unit, sort=GallerySort.SHARPE) == [
        "RSI bounce",
        "Golden cross",
        "Breakout",
        "Pairs: KO/PEP",
    ]
    assert titles(unit, sort=GallerySort.RETURN) == [
        "Golden cross",
        "RSI bounce",
        "Pairs: KO/PEP",
        "Breakout",
    ]


def test_pages_follow_on(unit: Session, shelf: dict[str, Strategy]) -> None:
    query = GalleryQuery(sort=GallerySort.RECENT)
    first = search_gallery(session=unit, query=query, limit=3)
    second = search_gallery(session=unit, query=query, offset=first.next_offset or 0, limit=3)

    assert ([s.title for s in first.items], first.next_offset) == (
        ["Breakout", "Pairs: KO/PEP", "RSI bounce"],
        3,
    )
    assert ([s.title for s in second.items], second.next_offset) == (["Golden cross"], None)


def test_a_verified_backtest_is_kept_unless_an_older_one_arrives(
    unit: Session, clock: FakeClock, shelf: dict[str, Strategy]
) -> None:
    strategy = shelf["Breakout"]
    verified(unit, clock, strategy, sharpe=1.1, ret=25.0)
    stale = VerifiedBacktest(
        run_id="late",
        receipt_hash="cd" * 32,
        return_pct=99.0,
        max_drawdown_pct=-1.0,
        as_of=clock.now() - timedelta(hours=1),
    )

    record_verified_backtest(session=unit, strategy=strategy, backtest=stale)
    unit.commit()
    unit.refresh(strategy)

    summary = strategy.verified_backtest
    assert summary is not None
    assert (
        summary.run_id,
        summary.return_pct,
        summary.sharpe,
        summary.max_drawdown_pct,
        summary.version,
    ) == (
        f"run-{strategy.public_id}",
        25.0,
        1.1,
        -12.5,
        1,
    )
    with pytest.raises(VersionNotFound):
        record_verified_backtest(
            session=unit,
            strategy=strategy,
            backtest=stale.model_copy(update={"version": 2, "as_of": clock.now()}),
        )
    with pytest.raises(ValidationError):
        VerifiedBacktest.model_validate(stale.model_dump() | {"sharpe": float("nan")})
