"""Who may do what, on SQLite and PostgreSQL: ``role_for`` for every kind of person and visibility, and the
permission matrix of docs/workspace.md run against every service that changes something."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlmodel import Session

from quanta.accounts.models import User
from quanta.testing.clock import FakeClock
from quanta.workspace.access import Access, require, role_for, role_for_public_id
from quanta.workspace.errors import Forbidden, StrategyNotFound
from quanta.workspace.models import (
    CollaboratorCreate,
    CollaboratorRole,
    Strategy,
    StrategyUpdate,
    VersionCreate,
    Visibility,
)
from quanta.workspace.service import (
    add_collaborator,
    change_collaborator_role,
    create_version,
    delete_strategy,
    fork_strategy,
    remove_collaborator,
    restore_version,
    star_strategy,
    strategy_by_public_id,
    update_strategy,
)
from tests.accounts.conftest import make_user
from tests.workspace.conftest import BACKENDS, SOURCE, People, make_strategy, share

pytestmark = pytest.mark.parametrize("app_database", BACKENDS, indirect=True)


@dataclass(frozen=True)
class Case:
    """One action of the matrix, done by ``actor`` to ``strategy`` (shared with the editor and viewer)."""

    unit: Session
    clock: FakeClock
    people: People
    actor: User
    strategy: Strategy


def read(case: Case) -> object:
    return strategy_by_public_id(session=case.unit, public_id=case.strategy.public_id, user_id=case.actor.id)


def edit_details(case: Case) -> object:
    changes = StrategyUpdate(title="Renamed", tags=["trend"])
    return update_strategy(
        session=case.unit, actor=case.actor, strategy=case.strategy, strategy_in=changes, now=case.clock.now()
    )


def change_visibility(case: Case) -> object:
    other = Visibility.PRIVATE if case.strategy.visibility.readable_by_anyone else Visibility.UNLISTED
    changes = StrategyUpdate(visibility=other)
    return update_strategy(
        session=case.unit, actor=case.actor, strategy=case.strategy, strategy_in=changes, now=case.clock.now()
    )


def save_version(case: Case) -> object:
    version_in = VersionCreate(source=SOURCE + "# tuned\n", message="Tuned")
    return create_version(
        session=case.unit,
        actor=case.actor,
        strategy=case.strategy,
        version_in=version_in,
        now=case.clock.now(),
    )


def restore(case: Case) -> object:
    version_in = VersionCreate(source=SOURCE + "# tuned\n")
    owner = case.people.owner
    create_version(
        session=case.unit, actor=owner, strategy=case.strategy, version_in=version_in, now=case.clock.now()
    )
    return restore_version(
        session=case.unit, actor=case.actor, strategy=case.strategy, number=1, now=case.clock.now()
    )


def invite(case: Case) -> object:
    make_user(case.unit, case.clock, "nina@example.com", username="nina")
    return add_collaborator(
        session=case.unit,
        actor=case.actor,
        strategy=case.strategy,
        collaborator_in=CollaboratorCreate(username="nina", role=CollaboratorRole.VIEWER),
        now=case.clock.now(),
    )


def change_role(case: Case) -> object:
    return change_collaborator_role(
        session=case.unit,
        actor=case.actor,
        strategy=case.strategy,
        username="vic",
        role=CollaboratorRole.EDITOR,
        now=case.clock.now(),
    )


def remove_other(case: Case) -> object:
    other = "eddie" if case.actor.id == case.people.viewer.id else "vic"
    return remove_collaborator(
        session=case.unit, actor=case.actor, strategy=case.strategy, username=other, now=case.clock.now()
    )


def delete(case: Case) -> object:
    return delete_strategy(session=case.unit, actor=case.actor, strategy=case.strategy, now=case.clock.now())


def fork(case: Case) -> object:
    return fork_strategy(session=case.unit, actor=case.actor, strategy=case.strategy, now=case.clock.now())


def star(case: Case) -> object:
    return star_strategy(session=case.unit, actor=case.actor, strategy=case.strategy, now=case.clock.now())


ACTIONS: dict[str, Callable[[Case], object]] = {
    "read": read,
    "edit details": edit_details,
    "change visibility": change_visibility,
    "save version": save_version,
    "restore version": restore,
    "invite collaborator": invite,
    "change a role": change_role,
    "remove a collaborator": remove_other,
    "delete": delete,
    "fork": fork,
    "star": star,
}

OK, FORBIDDEN, NOT_FOUND = "ok", "forbidden", "not found"
# The matrix of docs/workspace.md: for each action, owner / editor / viewer / stranger.
PRIVATE = {
    "read": (OK, OK, OK, NOT_FOUND),
    "edit details": (OK, OK, FORBIDDEN, NOT_FOUND),
    "change visibility": (OK, FORBIDDEN, FORBIDDEN, NOT_FOUND),
    "save version": (OK, OK, FORBIDDEN, NOT_FOUND),
    "restore version": (OK, OK, FORBIDDEN, NOT_FOUND),
    "invite collaborator": (OK, FORBIDDEN, FORBIDDEN, NOT_FOUND),
    "change a role": (OK, FORBIDDEN, FORBIDDEN, NOT_FOUND),
    "remove a collaborator": (OK, FORBIDDEN, FORBIDDEN, NOT_FOUND),
    "delete": (OK, FORBIDDEN, FORBIDDEN, NOT_FOUND),
    "fork": (OK, OK, OK, NOT_FOUND),
    "star": (OK, OK, OK, NOT_FOUND),
}
PUBLIC = {action: (*row[:3], OK if row[2] == OK else FORBIDDEN) for action, row in PRIVATE.items()}


def outcome(action: Callable[[Case], object], case: Case) -> str:
    try:
        action(case)
    except StrategyNotFound:
        case.unit.rollback()
        return NOT_FOUND
    except Forbidden:
        case.unit.rollback()
        return FORBIDDEN
    case.unit.commit()
    return OK


@pytest.mark.parametrize("visibility", [Visibility.PRIVATE, Visibility.PUBLIC, Visibility.UNLISTED])
@pytest.mark.parametrize("person", range(4), ids=["owner", "editor", "viewer", "stranger"])
def test_the_permission_matrix(
    unit: Session, clock: FakeClock, people: People, person: int, visibility: Visibility
) -> None:
    actor = (people.owner, people.editor, people.viewer, people.stranger)[person]
    expected = PRIVATE if visibility is Visibility.PRIVATE else PUBLIC
    outcomes = {}
    for name, action in ACTIONS.items():
        strategy = make_strategy(unit, clock, people.owner, title=name, visibility=visibility)
        share(unit, clock, strategy, people)
        outcomes[name] = outcome(action, Case(unit, clock, people, actor, strategy))

    assert outcomes == {name: row[person] for name, row in expected.items()}


@pytest.mark.parametrize(
    ("visibility", "expected"),
    [
        (Visibility.PRIVATE, ("owner", "editor", "viewer", None, None)),
        (Visibility.UNLISTED, ("owner", "editor", "viewer", "viewer", "viewer")),
        (Visibility.PUBLIC, ("owner", "editor", "viewer", "viewer", "viewer")),
    ],
)
def test_role_for_each_kind_of_person(
    unit: Session, clock: FakeClock, people: People, visibility: Visibility, expected: tuple[str | None, ...]
) -> None:
    strategy = make_strategy(unit, clock, people.owner, visibility=visibility)
    share(unit, clock, strategy, people)
    ids = (people.owner.id, people.editor.id, people.viewer.id, people.stranger.id, None)

    roles = tuple(role_for(session=unit, strategy=strategy, user_id=uid) for uid in ids)
    by_id = tuple(role_for_public_id(session=unit, public_id=strategy.public_id, user_id=uid) for uid in ids)

    assert roles == expected
    assert by_id == expected


def test_unknown_and_malformed_ids_give_no_role(unit: Session, clock: FakeClock, people: People) -> None:
    make_strategy(unit, clock, people.owner, visibility=Visibility.PUBLIC)

    for public_id in ("st_doesnotexist", "", "st_\x00", "x" * 500, "1; drop table strategy"):
        assert role_for_public_id(session=unit, public_id=public_id, user_id=people.owner.id) is None


def test_require_hides_private_strategies_and_names_what_is_missing(
    unit: Session, clock: FakeClock, people: People
) -> None:
    strategy = make_strategy(unit, clock, people.owner)
    share(unit, clock, strategy, people)

    with pytest.raises(StrategyNotFound, match="No such strategy"):
        require(session=unit, strategy=strategy, user_id=None, at_least=Access.VIEWER)
    with pytest.raises(Forbidden, match="ask the owner for editor access"):
        require(session=unit, strategy=strategy, user_id=people.viewer.id, at_least=Access.EDITOR)
    with pytest.raises(Forbidden, match="Only the owner"):
        require(session=unit, strategy=strategy, user_id=people.editor.id, at_least=Access.OWNER)
    assert (
        require(session=unit, strategy=strategy, user_id=people.editor.id, at_least=Access.EDITOR) == "editor"
    )


def test_a_collaborator_may_leave(unit: Session, clock: FakeClock, people: People) -> None:
    strategy = make_strategy(unit, clock, people.owner)
    share(unit, clock, strategy, people)

    remove_collaborator(session=unit, actor=people.viewer, strategy=strategy, username="vic", now=clock.now())
    unit.commit()

    assert role_for(session=unit, strategy=strategy, user_id=people.viewer.id) is None
