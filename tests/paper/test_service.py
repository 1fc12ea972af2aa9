"""Deploying, stopping, restarting and reading paper accounts: who may do what, and what they see.

The account view is computed from the stored fills and bars; after a desk has run a deployment, its
equity is the engine's final equity on the same bars, and realised plus unrealised P&L is the gain.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlmodel import Session

from quanta import db
from quanta.accounts.models import User
from quanta.engine import Backtest
from quanta.paper import PaperDesk, service
from quanta.paper.decide import Window, frame, options
from quanta.paper.errors import DeploymentNotFound, Forbidden, InvalidInput
from quanta.paper.models import DeploymentStatus, PaperCosts
from quanta.settings import Settings
from quanta.streaming import InProcessBus, Topics
from quanta.testing.clock import FakeClock
from quanta.testing.strategies import SmaCross
from quanta.workspace.models import CollaboratorCreate, CollaboratorRole, Strategy, StrategyCreate
from quanta.workspace.service import add_collaborator, create_strategy
from tests.accounts.conftest import make_user
from tests.paper.conftest import BACKENDS, SMA_CROSS, live_bars
from tests.paper.test_desk import feed

COSTS = PaperCosts(commission=0.001)


@dataclass(frozen=True)
class Cast:
    owner: User
    editor: User
    viewer: User
    stranger: User
    strategy: Strategy


@pytest.fixture
def unit(settings: Settings) -> Iterator[Session]:
    with Session(db.engine(settings)) as session:
        yield session


@pytest.fixture
def cast(unit: Session) -> Cast:
    clock = FakeClock()
    people = [
        make_user(unit, clock, f"{name}@example.com", username=name)
        for name in ("olga", "eddie", "vic", "sam")
    ]
    strategy = create_strategy(
        session=unit,
        owner=people[0],
        strategy_in=StrategyCreate(title="Cross", source=SMA_CROSS),
        now=clock.now(),
    )
    for name, role in (("eddie", CollaboratorRole.EDITOR), ("vic", CollaboratorRole.VIEWER)):
        add_collaborator(
            session=unit,
            actor=people[0],
            strategy=strategy,
            collaborator_in=CollaboratorCreate(username=name, role=role),
            now=clock.now(),
        )
    unit.commit()
    return Cast(*people, strategy=strategy)


def deploy(unit: Session, actor: User, cast: Cast, **changes: object) -> str:
    fields: dict[str, object] = {"symbols": ["goog"], "capital": 10_000.0, "costs": COSTS} | changes
    row = service.deploy(session=unit, actor=actor, strategy_id=cast.strategy.public_id, **fields)  # type: ignore[arg-type]
    unit.commit()
    return row.public_id


def test_owners_and_editors_deploy_viewers_only_look(unit: Session, cast: Cast) -> None:
    mine = deploy(unit, cast.owner, cast)
    theirs = deploy(unit, cast.editor, cast)
    with pytest.raises(Forbidden):
        deploy(unit, cast.viewer, cast)
    listed = service.list_deployments(
        session=unit, strategy_id=cast.strategy.public_id, user_id=cast.viewer.id
    )
    assert [r.public_id for r in listed] == [theirs, mine]
    assert listed[0].symbols == ["GOOG"]
    assert listed[0].version_number == 1
    assert service.account_view(session=unit, public_id=mine, user_id=cast.viewer.id).equity == 10_000.0
    with pytest.raises(Forbidden):
        service.stop(session=unit, actor=cast.viewer, public_id=mine)
    with pytest.raises(DeploymentNotFound):
        service.account_view(session=unit, public_id=mine, user_id=cast.stranger.id)
    with pytest.raises(DeploymentNotFound):
        service.get_deployment(session=unit, public_id=mine, user_id=None)


def test_stopping_and_restarting_change_what_a_desk_runs(unit: Session, cast: Cast) -> None:
    account = deploy(unit, cast.owner, cast)
    assert set(service.running_specs(session=unit)) == {account}
    assert service.running_specs(session=unit)[account].source == SMA_CROSS
    service.stop(session=unit, actor=cast.editor, public_id=account)
    unit.commit()
    assert service.running_specs(session=unit) == {}
    row = service.restart(session=unit, actor=cast.owner, public_id=account)
    unit.commit()
    assert row.status == DeploymentStatus.RUNNING
    assert set(service.running_specs(session=unit)) == {account}


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"symbols": []}, "symbols"), ({"symbols": ["no spaces"]}, "symbols"), ({"interval": "7x"}, "interval")],
)
def test_bad_deployments_are_refused(
    unit: Session, cast: Cast, changes: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        deploy(unit, cast.owner, cast, **changes)
    assert refused.value.field == field


@pytest.mark.anyio
@pytest.mark.parametrize("settings", BACKENDS, indirect=True)
async def test_the_account_view_after_a_run_is_the_engines_account(
    settings: Settings, unit: Session, cast: Cast
) -> None:
    account = deploy(unit, cast.owner, cast)
    bars = live_bars("GOOG", 250)
    bus, topics = InProcessBus(), Topics(namespace="v.")
    async with PaperDesk(bus, topics, settings) as desk:
        await desk.sync(service.running_specs(session=unit))
        await feed(bus, topics, bars, desk, len(bars))
    view = service.account_view(session=unit, public_id=account, user_id=cast.owner.id)
    spec = service.running_specs(session=unit)[account]
    windows = [Window(b.start, {b.symbol: (b.open, b.high, b.low, b.close, b.volume)}) for b in bars]
    result = Backtest(frame(windows, spec.symbols), SmaCross, **options(spec)).run()
    assert view.equity == pytest.approx(float(result.equity[-1]), rel=1e-12)
    assert view.last_bar == bars[-1].start
    assert view.realized_pnl + view.unrealized_pnl == pytest.approx(view.equity - view.capital, abs=1e-6)
    assert view.cash + sum(p.market_value for p in view.positions) == pytest.approx(view.equity, rel=1e-12)
    assert [p.symbol for p in view.positions] == ["GOOG"]
    assert view.positions[0].size == result.positions[0][-1]
    assert [f["seq"] for f in view.fills] == list(range(len(view.fills), 0, -1))
    assert len(view.equity_curve) == len(bars)
    assert view.equity_curve[-1] == (bars[-1].start, pytest.approx(view.equity, rel=1e-12))
