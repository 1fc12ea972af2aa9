"""Concurrent writers on PostgreSQL: versions saved at the same moment get distinct, consecutive numbers,
and stars from many people at once are all counted."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import Session, col, select

from quanta import db
from quanta.accounts.models import User
from quanta.settings import Settings
from quanta.testing.clock import FakeClock
from quanta.workspace.models import StrategyVersion, VersionCreate, Visibility
from quanta.workspace.service import create_version, star_strategy, strategy_by_public_id
from tests.accounts.conftest import make_user
from tests.workspace.conftest import SOURCE, People, make_strategy

WRITERS = 8


@pytest.mark.postgres
@pytest.mark.parametrize("app_database", ["postgres"], indirect=True)
def test_concurrent_saves_get_consecutive_numbers(
    settings: Settings, unit: Session, clock: FakeClock, people: People
) -> None:
    strategy = make_strategy(unit, clock, people.owner)
    public_id, owner_id = strategy.public_id, people.owner.id

    def save(n: int) -> int:
        with db.session(settings) as mine:
            owner = mine.get(User, owner_id)
            assert owner is not None
            target = strategy_by_public_id(session=mine, public_id=public_id, user_id=owner_id)
            version_in = VersionCreate(source=f"{SOURCE}# writer {n}\n")
            return create_version(session=mine, actor=owner, strategy=target, version_in=version_in).number

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        numbers = sorted(pool.map(save, range(WRITERS)))

    unit.expire_all()
    stored = unit.exec(
        select(StrategyVersion.number).where(col(StrategyVersion.strategy_id) == strategy.id)
    ).all()
    assert numbers == list(range(2, WRITERS + 2))
    assert sorted(stored) == list(range(1, WRITERS + 2))
    assert strategy.latest_version == WRITERS + 1


@pytest.mark.postgres
@pytest.mark.parametrize("app_database", ["postgres"], indirect=True)
def test_concurrent_stars_are_all_counted_once(
    settings: Settings, unit: Session, clock: FakeClock, people: People
) -> None:
    strategy = make_strategy(unit, clock, people.owner, visibility=Visibility.PUBLIC)
    fans = [make_user(unit, clock, f"fan{n}@example.com").id for n in range(WRITERS)]
    public_id = strategy.public_id

    def star(fan_id: int | None) -> None:
        with db.session(settings) as mine:
            fan = mine.get(User, fan_id)
            assert fan is not None
            target = strategy_by_public_id(session=mine, public_id=public_id, user_id=fan_id)
            star_strategy(session=mine, actor=fan, strategy=target)

    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        list(pool.map(star, fans + fans))

    unit.refresh(strategy)
    assert strategy.star_count == WRITERS
