"""The app's live paper topics: only people who may read a deployment's strategy follow
``paper.<account>``; the snapshot is the account view; each desk step is one delta."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlmodel import Session

from quanta.accounts.service import SESSION_COOKIE, sign_in
from quanta.broadcast.asgi import Peer
from quanta.paper import AccountUpdate, FillEvent
from quanta.ratelimit import MemoryRateLimiter
from quanta.settings import Settings, get_settings
from quanta_app.live import authorize, live_hub, live_market
from quanta_app.paper import account_topic, publish_update
from tests.accounts.conftest import PASSWORD
from tests.paper.test_service import Cast, cast, deploy, unit  # noqa: F401  (fixtures)

pytestmark = pytest.mark.anyio


@pytest.fixture
def app_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The app's settings (``get_settings``) on the test's database, and fresh app singletons."""
    monkeypatch.setenv("QUANTA_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("QUANTA_DATABASE_URL", str(settings.app_database_url))
    for cached in (get_settings, live_hub, live_market):
        cached.cache_clear()
    yield settings
    for cached in (get_settings, live_hub, live_market):
        cached.cache_clear()


def peer(unit: Session, email: str | None) -> Peer:  # noqa: F811
    if email is None:
        return Peer()
    grant = sign_in(session=unit, email=email, password=PASSWORD, limiter=MemoryRateLimiter())
    unit.commit()
    return Peer(cookies={SESSION_COOKIE: grant.token})


class Sink:
    def __init__(self) -> None:
        self.frames: list[str] = []

    def offer(self, frame: str) -> bool:
        self.frames.append(frame)
        return True

    def force(self, frame: str) -> None:
        self.frames.append(frame)


async def test_only_readers_of_the_strategy_follow_an_account_and_see_it_move(
    app_settings: Settings,
    unit: Session,  # noqa: F811
    cast: Cast,  # noqa: F811
) -> None:
    account = deploy(unit, cast.owner, cast)
    topic = account_topic(account)
    assert await authorize(topic, peer(unit, cast.viewer.email))
    assert await authorize(topic, peer(unit, cast.owner.email))
    assert not await authorize(topic, peer(unit, cast.stranger.email))
    assert not await authorize(topic, peer(unit, None))
    assert not await authorize(account_topic("pp_nosuchthing"), peer(unit, cast.owner.email))

    sink = Sink()
    await live_hub().subscribe(topic, sink)
    fill = FillEvent(
        account=account,
        fill_id="f",
        order_id="o",
        seq=1,
        symbol="GOOG",
        size=2,
        price=100,
        commission=0.2,
        ts=5,
    )
    update = AccountUpdate(
        account=account,
        start=5,
        closes={"GOOG": 101.0},
        fills=[fill],
        orders=[],
        cash=9_799.8,
        equity=10_001.8,
        positions={"GOOG": 2.0},
    )
    await publish_update(update)
    snapshot, delta = (f for f in sink.frames if '"kind":"snapshot"' in f or '"kind":"delta"' in f)
    assert '"equity":10000.0' in snapshot
    assert '"status":"running"' in snapshot
    assert '"equity":10001.8' in delta
    assert '"fills":[{"seq":1' in delta
