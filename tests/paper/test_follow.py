"""``follow_deployments``: the desk runs exactly the running deployments of the app database, picks up
new ones and stops stopped ones within its period, and marks a deployment whose runner fails."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from sqlmodel import Session

from quanta.paper import PaperDesk, service
from quanta.paper.desk import follow_deployments
from quanta.paper.models import DeploymentStatus
from quanta.settings import Settings
from quanta.streaming import InProcessBus, Topics, encode_bar
from quanta.workspace.models import VersionCreate
from quanta.workspace.service import create_version
from tests.paper.conftest import live_bars
from tests.paper.test_desk import wait_for
from tests.paper.test_service import Cast, cast, deploy, unit  # noqa: F401  (fixtures)

pytestmark = pytest.mark.anyio

RAISES = """
from quanta import Strategy


class Raises(Strategy):
    def init(self):
        pass

    def next(self):
        raise ValueError("no luck")
"""


def status(unit: Session, account: str) -> str:  # noqa: F811
    unit.expire_all()
    row = service.find_deployment(session=unit, public_id=account)
    assert row is not None
    return row.status


async def test_the_desk_follows_deploys_stops_and_failures(
    settings: Settings,
    unit: Session,  # noqa: F811
    cast: Cast,  # noqa: F811
) -> None:
    good = deploy(unit, cast.owner, cast)
    bus, topics = InProcessBus(), Topics(namespace="f.")
    async with PaperDesk(bus, topics, settings) as desk:
        following = asyncio.create_task(follow_deployments(desk, settings, every=0.1))
        try:
            await wait_for(lambda: desk.accounts == [good])
            create_version(
                session=unit,
                actor=cast.owner,
                strategy=cast.strategy,
                version_in=VersionCreate(source=RAISES),
            )
            unit.commit()
            bad = deploy(unit, cast.owner, cast)
            await wait_for(lambda: sorted(desk.accounts) == sorted([good, bad]))
            for bar in live_bars("GOOG", 3):
                await bus.publish(topics.bars("1s"), bar.symbol, encode_bar(bar))
            await wait_for(lambda: status(unit, bad) == DeploymentStatus.FAILED)
            row = service.find_deployment(session=unit, public_id=bad)
            assert row is not None
            assert "ValueError: no luck (line 10)" in row.error
            assert desk.accounts == [good]
            service.stop(session=unit, actor=cast.owner, public_id=good)
            unit.commit()
            await wait_for(lambda: desk.accounts == [])
        finally:
            following.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await following
