"""Forks with lineage and stars, on SQLite and PostgreSQL; and what happens to them when strategies or
whole accounts are deleted."""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from quanta.accounts.events import AuditKind
from quanta.accounts.models import AuditEvent
from quanta.accounts.service import delete_account
from quanta.testing.clock import FakeClock
from quanta.workspace.errors import Conflict, StrategyNotFound, VersionNotFound
from quanta.workspace.models import (
    ForkCreate,
    Strategy,
    StrategyCollaborator,
    StrategyStar,
    StrategyUpdate,
    StrategyVersion,
    VersionCreate,
    Visibility,
)
from quanta.workspace.service import (
    create_version,
    delete_strategy,
    fork_strategy,
    get_version,
    has_starred,
    lineage,
    list_forks,
    star_strategy,
    strategy_by_public_id,
    strategy_view,
    unstar_strategy,
    update_strategy,
)
from tests.accounts.conftest import PASSWORD
from tests.workspace.conftest import BACKENDS, SOURCE, People, make_strategy, share

pytestmark = pytest.mark.parametrize("app_database", BACKENDS, indirect=True)

SECOND = SOURCE + "\n# second\n"


def _second_version(unit: Session, clock: FakeClock, people: People, strategy: Strategy) -> None:
    version_in = VersionCreate(source=SECOND, message="Second")
    create_version(
        session=unit, actor=people.owner, strategy=strategy, version_in=version_in, now=clock.now()
    )
    unit.commit()


def test_a_fork_is_private_to_its_maker_and_starts_from_the_chosen_version(
    unit: Session, clock: FakeClock, people: People
) -> None:
    original = make_strategy(unit, clock, people.owner, visibility=Visibility.PUBLIC, tags=["trend"])
    _second_version(unit, clock, people, original)

    fork = fork_strategy(
        session=unit, actor=people.stranger, strategy=original, fork_in=ForkCreate(version=1), now=clock.now()
    )
    unit.commit()

    first = get_version(session=unit, strategy=fork, user_id=people.stranger.id)
    view = strategy_view(session=unit, strategy=fork, user_id=people.stranger.id)
    assert (view.owner, view.visibility, view.title, view.tags) == ("sam", "private", "Breakout", ["trend"])
    assert (first.number, first.source, first.author_id) == (1, SOURCE, people.stranger.id)
    assert first.message == f"Forked from olga/{original.public_id} version 1"
    assert view.is_fork
    assert view.forked_from is not None
    assert (view.forked_from.id, view.forked_from.owner, view.forked_from.version) == (
        original.public_id,
        "olga",
        1,
    )
    unit.refresh(original)
    assert original.fork_count == 1
    event = unit.exec(select(AuditEvent).where(col(AuditEvent.kind) == AuditKind.STRATEGY_FORKED)).one()
    assert (event.actor_id, event.subject_id) == (people.stranger.id, people.owner.id)
    assert event.detail["fork"] == fork.public_id
    with pytest.raises(StrategyNotFound):
        strategy_by_public_id(session=unit, public_id=fork.public_id, user_id=people.owner.id)


def test_forking_needs_read_access_and_a_version(unit: Session, clock: FakeClock, people: People) -> None:
    private = make_strategy(unit, clock, people.owner)
    empty = make_strategy(unit, clock, people.owner, source=None, visibility=Visibility.PUBLIC)

    with pytest.raises(StrategyNotFound):
        fork_strategy(session=unit, actor=people.stranger, strategy=private, now=clock.now())
    with pytest.raises(Conflict, match="no version to fork"):
        fork_strategy(session=unit, actor=people.stranger, strategy=empty, now=clock.now())
    with pytest.raises(VersionNotFound):
        fork_strategy(
            session=unit, actor=people.owner, strategy=private, fork_in=ForkCreate(version=7), now=clock.now()
        )


def test_lineage_both_ways_hides_what_the_viewer_may_not_read(
    unit: Session, clock: FakeClock, people: People
) -> None:
    root = make_strategy(unit, clock, people.owner, title="Root", visibility=Visibility.PUBLIC)
    _second_version(unit, clock, people, root)
    middle = fork_strategy(
        session=unit, actor=people.editor, strategy=root, fork_in=ForkCreate(title="Middle"), now=clock.now()
    )
    leaf = fork_strategy(
        session=unit,
        actor=people.viewer,
        strategy=root,
        fork_in=ForkCreate(title="Leaf", version=1),
        now=clock.now(),
    )
    unit.commit()
    update_strategy(
        session=unit,
        actor=people.viewer,
        strategy=leaf,
        strategy_in=StrategyUpdate(visibility=Visibility.PUBLIC),
        now=clock.now(),
    )
    grandchild = fork_strategy(session=unit, actor=people.editor, strategy=middle, now=clock.now())
    unit.commit()

    from_root = lineage(session=unit, strategy=root, user_id=people.stranger.id)
    from_grandchild = lineage(session=unit, strategy=grandchild, user_id=people.editor.id)
    seen_by_editor = lineage(session=unit, strategy=root, user_id=people.editor.id)

    assert from_root.ancestors == []
    assert [(f.title, f.owner, f.version) for f in from_root.forks] == [("Leaf", "vic", 1)]
    assert from_root.fork_count == 2
    assert [(f.title, f.version) for f in seen_by_editor.forks] == [("Leaf", 1), ("Middle", 2)]
    assert [(a.title, a.version, a.visible) for a in from_grandchild.ancestors] == [
        ("Middle", 1, True),
        ("Root", 2, True),
    ]
    assert [f.title for f in list_forks(session=unit, strategy=middle, user_id=people.editor.id).items] == [
        "Middle"
    ]
    # Someone else may read the public grandchild but not its private parent: a placeholder stands in.
    update_strategy(
        session=unit,
        actor=people.editor,
        strategy=grandchild,
        strategy_in=StrategyUpdate(visibility=Visibility.PUBLIC),
        now=clock.now(),
    )
    hidden = lineage(session=unit, strategy=grandchild, user_id=people.stranger.id)
    assert [(a.visible, a.title, a.version) for a in hidden.ancestors] == [
        (False, None, 1),
        (True, "Root", 2),
    ]
    assert strategy_view(session=unit, strategy=grandchild, user_id=people.stranger.id).forked_from is None


def test_deleting_the_original_keeps_its_forks(unit: Session, clock: FakeClock, people: People) -> None:
    original = make_strategy(unit, clock, people.owner, visibility=Visibility.PUBLIC)
    fork = fork_strategy(session=unit, actor=people.stranger, strategy=original, now=clock.now())
    unit.commit()

    delete_strategy(session=unit, actor=people.owner, strategy=original, now=clock.now())
    unit.commit()
    unit.refresh(fork)

    view = strategy_view(session=unit, strategy=fork, user_id=people.stranger.id)
    assert (view.is_fork, view.forked_from, fork.forked_from_id, fork.forked_from_version) == (
        True,
        None,
        None,
        1,
    )
    assert lineage(session=unit, strategy=fork, user_id=people.stranger.id).ancestors[0].visible is False


def test_stars_are_idempotent_and_counted(unit: Session, clock: FakeClock, people: People) -> None:
    strategy = make_strategy(unit, clock, people.owner, visibility=Visibility.UNLISTED)

    for person in (people.stranger, people.stranger, people.viewer):
        star_strategy(session=unit, actor=person, strategy=strategy, now=clock.now())
    unit.commit()
    assert strategy.star_count == 2
    assert has_starred(session=unit, strategy=strategy, user_id=people.stranger.id)

    for _ in range(2):
        unstar_strategy(session=unit, actor=people.stranger, strategy=strategy)
    unit.commit()
    unit.refresh(strategy)

    assert strategy.star_count == 1
    assert not has_starred(session=unit, strategy=strategy, user_id=people.stranger.id)
    assert strategy_view(session=unit, strategy=strategy, user_id=people.viewer.id).starred


def test_a_star_can_be_taken_off_a_strategy_that_went_private(
    unit: Session, clock: FakeClock, people: People
) -> None:
    strategy = make_strategy(unit, clock, people.owner, visibility=Visibility.PUBLIC)
    star_strategy(session=unit, actor=people.stranger, strategy=strategy, now=clock.now())
    update_strategy(
        session=unit,
        actor=people.owner,
        strategy=strategy,
        strategy_in=StrategyUpdate(visibility=Visibility.PRIVATE),
        now=clock.now(),
    )
    unit.commit()

    with pytest.raises(StrategyNotFound):
        star_strategy(session=unit, actor=people.stranger, strategy=strategy, now=clock.now())
    unstar_strategy(session=unit, actor=people.stranger, strategy=strategy)
    unit.commit()

    assert strategy.star_count == 0
    with pytest.raises(StrategyNotFound):
        unstar_strategy(session=unit, actor=people.stranger, strategy=strategy)


def test_deleting_an_account_takes_its_strategies_stars_and_collaborations(
    unit: Session, clock: FakeClock, people: People
) -> None:
    theirs = make_strategy(unit, clock, people.stranger, title="Sam's", visibility=Visibility.PUBLIC)
    ours = make_strategy(unit, clock, people.owner, title="Olga's", visibility=Visibility.PUBLIC)
    share(unit, clock, ours, people)
    star_strategy(session=unit, actor=people.stranger, strategy=ours, now=clock.now())
    star_strategy(session=unit, actor=people.owner, strategy=theirs, now=clock.now())
    kept_fork = fork_strategy(session=unit, actor=people.owner, strategy=theirs, now=clock.now())
    gone_fork = fork_strategy(session=unit, actor=people.stranger, strategy=ours, now=clock.now())
    version_in = VersionCreate(source=SOURCE + "# by eddie\n")
    create_version(session=unit, actor=people.editor, strategy=ours, version_in=version_in, now=clock.now())
    unit.commit()
    gone = {theirs.id, gone_fork.id}

    delete_account(session=unit, user=people.stranger, password=PASSWORD, now=clock.now())
    delete_account(session=unit, user=people.editor, password=PASSWORD, now=clock.now())
    unit.commit()
    unit.refresh(ours)
    unit.refresh(kept_fork)

    assert {s.id for s in unit.exec(select(Strategy))} == {ours.id, kept_fork.id}
    assert not gone & set(unit.exec(select(StrategyVersion.strategy_id)).all())
    assert (ours.star_count, ours.fork_count) == (0, 0)
    assert unit.exec(select(StrategyStar)).all() == []
    assert [c.user_id for c in unit.exec(select(StrategyCollaborator))] == [people.viewer.id]
    assert get_version(session=unit, strategy=ours, user_id=people.owner.id).author_id is None
    assert (kept_fork.forked_from_id, kept_fork.forked_from_version) == (None, 1)
