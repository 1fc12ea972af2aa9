"""The app's defaults: roles come from the strategy workspace, rooms start from the latest saved version."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from quanta import db
from quanta.accounts.models import User
from quanta.collab import LatestVersionSeed, WorkspaceAuthorizer, collab_hub
from quanta.collab.models import RoomOptions
from quanta.settings import Settings
from quanta.workspace.models import StrategyCreate, VersionCreate, Visibility
from quanta.workspace.service import create_strategy, create_version, strategy_by_public_id
from tests.collab.conftest import People, eventually, joined, serve

FIRST = "class Sma(Strategy):\n    fast = 10\n"
SECOND = "class Sma(Strategy):\n    fast = 12\n"


def _strategy(settings: Settings, people: People, visibility: Visibility) -> str:
    with Session(db.engine(settings)) as unit:
        owner = unit.get(User, people.ids["ada"])
        assert owner is not None
        strategy_in = StrategyCreate(title="SMA", source=FIRST, visibility=visibility)
        public_id = create_strategy(session=unit, owner=owner, strategy_in=strategy_in).public_id
        unit.commit()
    return public_id


@pytest.mark.parametrize(
    ("visibility", "eve", "anonymous"),
    [(Visibility.PRIVATE, None, None), (Visibility.PUBLIC, "viewer", "viewer")],
)
def test_the_workspace_decides_who_may_join(
    settings: Settings, people: People, visibility: Visibility, eve: str | None, anonymous: str | None
) -> None:
    public_id = _strategy(settings, people, visibility)
    authorize = WorkspaceAuthorizer(settings)

    assert authorize(public_id=public_id, user_id=people.ids["ada"]) == "owner"
    assert authorize(public_id=public_id, user_id=people.ids["eve"]) == eve
    assert authorize(public_id=public_id, user_id=None) == anonymous
    assert authorize(public_id="nosuchthing", user_id=people.ids["ada"]) is None


def test_the_seed_is_the_latest_saved_version(settings: Settings, people: People) -> None:
    public_id = _strategy(settings, people, Visibility.PRIVATE)
    seed = LatestVersionSeed(settings)
    assert seed(public_id) == FIRST

    with Session(db.engine(settings)) as unit:
        ada = unit.get(User, people.ids["ada"])
        assert ada is not None
        strategy = strategy_by_public_id(session=unit, public_id=public_id, user_id=ada.id)
        create_version(session=unit, actor=ada, strategy=strategy, version_in=VersionCreate(source=SECOND))
        unit.commit()

    assert seed(public_id) == SECOND
    assert seed("nosuchthing") is None


@pytest.mark.anyio
async def test_the_app_hub_opens_a_strategy_at_its_saved_source(settings: Settings, people: People) -> None:
    public_id = _strategy(settings, people, Visibility.PRIVATE)
    hub = collab_hub(settings, options=RoomOptions(linger=0.05))
    with serve(hub, settings) as base:
        ada = await joined(f"{base}/{public_id}", people.cookies["ada"])
        assert str(ada.text) == FIRST
        ada.text.insert(len(ada.text), "    slow = 30\n")
        await eventually(lambda: hub.room_text(public_id) == FIRST + "    slow = 30\n")
        await ada.disconnect()
