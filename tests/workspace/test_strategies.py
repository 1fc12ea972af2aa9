"""Strategies and their versions on SQLite and PostgreSQL: creating, changing, saving versions (numbered,
immutable, Python only), diffs, restores that never rewrite history, deletion, and the audit trail."""

from __future__ import annotations

import pytest
from sqlmodel import Session, col, select

from quanta.accounts.events import AuditKind
from quanta.accounts.models import AuditEvent
from quanta.accounts.service import audit_log_for_user
from quanta.testing.clock import FakeClock
from quanta.workspace.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidSource,
    StrategyNotFound,
    VersionNotFound,
)
from quanta.workspace.models import (
    StrategyCreate,
    StrategyTag,
    StrategyUpdate,
    StrategyVersion,
    VersionCreate,
    Visibility,
)
from quanta.workspace.service import (
    create_strategy,
    create_version,
    delete_strategy,
    diff_versions,
    get_version,
    list_own_strategies,
    list_shared_strategies,
    list_versions,
    restore_version,
    strategy_by_public_id,
    strategy_view,
    update_strategy,
    version_summaries,
)
from tests.workspace.conftest import BACKENDS, SOURCE, People, make_strategy, share

pytestmark = pytest.mark.parametrize("app_database", BACKENDS, indirect=True)

EDITED = SOURCE.replace("window = 20", "window = 55")


def save(
    unit: Session, clock: FakeClock, people: People, strategy_id: str, source: str, *, message: str = ""
) -> int:
    strategy = strategy_by_public_id(session=unit, public_id=strategy_id, user_id=people.owner.id)
    version = create_version(
        session=unit,
        actor=people.owner,
        strategy=strategy,
        version_in=VersionCreate(source=source, message=message),
        now=clock.now(),
    )
    unit.commit()
    return version.number


def test_a_new_strategy_is_private_with_its_first_version(
    unit: Session, clock: FakeClock, people: People
) -> None:
    strategy = make_strategy(
        unit, clock, people.owner, title="  Breakout  ", tags=["Momentum", "momentum", "fx"]
    )

    view = strategy_view(session=unit, strategy=strategy, user_id=people.owner.id)
    first = get_version(session=unit, strategy=strategy, user_id=people.owner.id)

    assert strategy.public_id.startswith("st_")
    assert len(strategy.public_id) == 15
    assert (view.title, view.visibility, view.owner, view.role) == ("Breakout", "private", "olga", "owner")
    assert view.tags == ["momentum", "fx"]
    assert (view.latest_version, first.number, first.source, first.message) == (1, 1, SOURCE, "First")
    indexed = unit.exec(select(StrategyTag.tag).where(col(StrategyTag.strategy_id) == strategy.id)).all()
    assert sorted(indexed) == ["fx", "momentum"]


def test_a_strategy_without_source_has_no_version_yet(
    unit: Session, clock: FakeClock, people: People
) -> None:
    strategy = make_strategy(unit, clock, people.owner, source=None)

    assert strategy.latest_version == 0
    with pytest.raises(VersionNotFound):
        get_version(session=unit, strategy=strategy, user_id=people.owner.id)


def test_versions_are_numbered_in_order_and_listed_newest_first(
    unit: Session, clock: FakeClock, people: People
) -> None:
    strategy = make_strategy(unit, clock, people.owner)
    clock.advance(minutes=5)
    second = save(unit, clock, people, strategy.public_id, EDITED, message="Wider window")
    clock.advance(minutes=5)
    third = save(unit, clock, people, strategy.public_id, EDITED + "\n# tuned\n", message="Note")

    listed = list_versions(session=unit, strategy=strategy, user_id=people.owner.id)
    summaries = version_summaries(session=unit, versions=listed.items)

    assert (second, third) == (2, 3)
    assert [(v.number, v.message, v.author) for v in summaries] == [
        (3, "Note", "olga"),
        (2, "Wider window", "olga"),
        (1, "First", "olga"),
    ]
    assert listed.next_offset is None
    unit.refresh(strategy)
    assert strategy.latest_version == 3
    assert strategy.updated_at.replace(tzinfo=None) == clock.now().replace(tzinfo=None)


def test_a_version_must_parse_as_python_and_the_error_says_where(
    unit: Session, clock: FakeClock, people: People
) -> None:
    strategy = make_strategy(unit, clock, people.owner)
    broken = (
        "class Broken(Strategy):\n    def next(self):\n        if self.data.close[-1] >:\n            pass\n"
    )

    with pytest.raises(InvalidSource, match=r"^Line 3, column \d+: invalid syntax") as caught:
        save(unit, clock, people, strategy.public_id, broken)

    assert caught.value.line == 3
    assert caught.value.field == "source"
    unit.rollback()
    assert (
        strategy_by_public_id(
            session=unit, public_id=strategy.public_id, user_id=people.owner.id
        ).latest_version
        == 1
    )


def test_saving_an_unchanged_source_is_a_conflict(unit: Session, clock: FakeClock, people: People) -> None:
    strategy = make_strategy(unit, clock, people.owner)

    with pytest.raises(Conflict, match="same as version 1"):
        save(unit, clock, people, strategy.public_id, SOURCE)


def test_the_diff_between_versions_has_text_and_numbered_lines(
    unit: Session, clock: FakeClock, people: People
) -> None:
    strategy = make_strategy(unit, clock, people.owner)
    save(unit, clock, people, strategy.public_id, EDITED)

    diff = diff_versions(session=unit, strategy=strategy, user_id=people.owner.id, old=1, new=2, context=1)

    assert diff.unified.splitlines()[:3] == ["--- v1", "+++ v2", "@@ -4,3 +4,3 @@"]
    assert "-    window = 20\n+    window = 55\n" in diff.unified
    assert (diff.added, diff.removed) == (1, 1)
    changed = [(line.kind, line.old_line, line.new_line, line.text) for line in diff.hunks[0].lines]
    assert changed == [
        ("context", 4, 4, "class Breakout(Strategy):"),
        ("remove", 5, None, "    window = 20"),
        ("add", None, 5, "    window = 55"),
        ("context", 6, 6, ""),
    ]


def test_restoring_adds_a_version_and_keeps_history(unit: Session, clock: FakeClock, people: People) -> None:
    strategy = make_strategy(unit, clock, people.owner)
    save(unit, clock, people, strategy.public_id, EDITED)

    restored = restore_version(session=unit, actor=people.owner, strategy=strategy, number=1, now=clock.now())
    unit.commit()

    history = unit.exec(
        select(StrategyVersion.number, StrategyVersion.source, StrategyVersion.restored_from)
        .where(col(StrategyVersion.strategy_id) == strategy.id)
        .order_by(col(StrategyVersion.number))
    ).all()
    assert (restored.number, restored.message) == (3, "Restore version 1")
    assert history == [(1, SOURCE, None), (2, EDITED, None), (3, SOURCE, 1)]
    with pytest.raises(Conflict):
        restore_version(session=unit, actor=people.owner, strategy=strategy, number=3, now=clock.now())
    with pytest.raises(VersionNotFound):
        restore_version(session=unit, actor=people.owner, strategy=strategy, number=9, now=clock.now())


def test_editors_change_the_description_but_only_the_owner_publishes(
    unit: Session, clock: FakeClock, people: People
) -> None:
    strategy = make_strategy(unit, clock, people.owner)
    share(unit, clock, strategy, people)

    update_strategy(
        session=unit,
        actor=people.editor,
        strategy=strategy,
        strategy_in=StrategyUpdate(description="Buys new highs.", tags=["breakout"]),
        now=clock.now(),
    )
    with pytest.raises(Forbidden, match="Only the owner"):
        update_strategy(
            session=unit,
            actor=people.editor,
            strategy=strategy,
            strategy_in=StrategyUpdate(visibility=Visibility.PUBLIC),
            now=clock.now(),
        )
    update_strategy(
        session=unit,
        actor=people.owner,
        strategy=strategy,
        strategy_in=StrategyUpdate(visibility=Visibility.PUBLIC),
        now=clock.now(),
    )
    unit.commit()

    assert (strategy.description, strategy.tags, strategy.visibility) == (
        "Buys new highs.",
        ["breakout"],
        "public",
    )
    published = unit.exec(
        select(AuditEvent).where(col(AuditEvent.kind) == AuditKind.STRATEGY_PUBLISHED)
    ).one()
    assert published.actor_id == people.owner.id
    assert published.detail == {
        "strategy": strategy.public_id,
        "title": "Breakout",
        "before": "private",
        "after": "public",
    }


def test_own_and_shared_lists(unit: Session, clock: FakeClock, people: People) -> None:
    first = make_strategy(unit, clock, people.owner, title="First")
    clock.advance(minutes=1)
    second = make_strategy(unit, clock, people.owner, title="Second")
    share(unit, clock, first, people)

    own = list_own_strategies(session=unit, user=people.owner, limit=1)
    rest = list_own_strategies(session=unit, user=people.owner, offset=own.next_offset or 0, limit=1)
    shared = list_shared_strategies(session=unit, user=people.viewer)

    assert [s.title for s in own.items] == [second.title]
    assert own.next_offset == 1
    assert ([s.title for s in rest.items], rest.next_offset) == (["First"], None)
    assert [s.title for s in shared.items] == ["First"]
    assert list_own_strategies(session=unit, user=people.viewer).items == []


def test_deleting_a_strategy_takes_its_versions_and_is_audited(
    unit: Session, clock: FakeClock, people: People
) -> None:
    strategy = make_strategy(unit, clock, people.owner, tags=["fx"])
    share(unit, clock, strategy, people)
    public_id = strategy.public_id

    with pytest.raises(Forbidden):
        delete_strategy(session=unit, actor=people.editor, strategy=strategy, now=clock.now())
    delete_strategy(session=unit, actor=people.owner, strategy=strategy, now=clock.now())
    unit.commit()

    with pytest.raises(StrategyNotFound):
        strategy_by_public_id(session=unit, public_id=public_id, user_id=people.owner.id)
    assert unit.exec(select(StrategyVersion)).all() == []
    assert unit.exec(select(StrategyTag)).all() == []
    kinds = [e.kind for e in audit_log_for_user(session=unit, user=people.owner)]
    assert kinds[0] == AuditKind.STRATEGY_DELETED


def test_titles_and_tags_are_checked(unit: Session, clock: FakeClock, people: People) -> None:
    with pytest.raises(InvalidInput, match="title of 1 to 100"):
        create_strategy(
            session=unit, owner=people.owner, strategy_in=StrategyCreate(title="   "), now=clock.now()
        )
    with pytest.raises(InvalidInput, match="is not a tag") as caught:
        create_strategy(
            session=unit,
            owner=people.owner,
            strategy_in=StrategyCreate(title="Ok", tags=["has space"]),
            now=clock.now(),
        )
    assert caught.value.field == "tags"
