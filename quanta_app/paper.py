"""The app's paper trading: a lifespan task that runs the paper desk on the app's bars, and the private
live topics ``paper.<account>`` that show each account move on its strategy's page.

- the desk runs on one worker (the only one, or with ``QUANTA_REDIS_URL`` the holder of the
  ``paper-desk`` Redis lease) and follows the deployments in the app database
  (``quanta.paper.desk.follow_deployments``);
- its bars: with ``QUANTA_KAFKA_BOOTSTRAP``, ``quanta.bars.1s`` on Kafka (orders and fills go to Kafka
  too); otherwise the closed bars of this worker's market topics (``market.bars.1s.<SYMBOL>``), handed to
  the desk on an in-process bus;
- every step of an account is published to ``paper.<account>``; its snapshot is the account view read
  from the database. Only people who may read the deployment's strategy may follow the topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi.concurrency import run_in_threadpool

from pipelines.kafka import KafkaTransport
from quanta import db
from quanta.accounts.service import resolve_session, session_token_in
from quanta.aio import cancel_and_wait
from quanta.broadcast import RedisLease, Snapshot
from quanta.broadcast.asgi import Peer
from quanta.broadcast.market import bar_topic
from quanta.paper import service
from quanta.paper.desk import AccountUpdate, PaperDesk, follow_deployments
from quanta.paper.errors import DeploymentNotFound
from quanta.settings import Settings, get_settings
from quanta.streaming import Bar, InProcessBus, Topics, Transport, encode_bar
from quanta_app.live import live_hub, live_market, register_topic_rule

log = logging.getLogger(__name__)

TOPIC_PREFIX = "paper."


def account_topic(account: str) -> str:
    """The live topic of one paper account."""
    return f"{TOPIC_PREFIX}{account}"


# ---- the topics ------------------------------------------------------------------------------------------


def _view(account: str) -> dict[str, Any] | None:
    with db.session(get_settings()) as unit:
        row = service.find_deployment(session=unit, public_id=account)
        if row is None:
            return None
        view = service.compute_view(session=unit, account=account, capital=row.capital)
        return view.model_dump(mode="json") | {"status": row.status, "error": row.error}


def declare_account(account: str) -> None:
    """Make ``paper.<account>`` available, its snapshot read from the database."""

    async def read() -> dict[str, Any] | None:
        return await run_in_threadpool(_view, account)

    live_hub().declare(account_topic(account), view=Snapshot(read))


def may_read(account: str, cookies: dict[str, str]) -> bool:
    """Whether the session behind ``cookies`` may read the deployment ``account``."""
    token = session_token_in(cookies)
    with db.session(get_settings()) as unit:
        current = resolve_session(session=unit, token=token) if token else None
        try:
            service.get_deployment(
                session=unit, public_id=account, user_id=current.user.id if current is not None else None
            )
        except DeploymentNotFound:
            return False
        return True


async def paper_rule(topic: str, peer: Peer) -> bool:
    """The ``paper.`` topic rule: readers of the deployment's strategy; declares the topic first."""
    account = topic.removeprefix(TOPIC_PREFIX)
    if not account or not await run_in_threadpool(may_read, account, dict(peer.cookies)):
        return False
    declare_account(account)
    return True


register_topic_rule(TOPIC_PREFIX, paper_rule)


async def publish_update(update: AccountUpdate) -> None:
    """One step of an account to its topic (when someone declared it on this worker)."""
    topic = account_topic(update.account)
    if not live_hub().declared(topic):
        declare_account(update.account)
    await live_hub().publish(topic, update_data(update))


def update_data(update: AccountUpdate) -> dict[str, Any]:
    """An account step as a delta: the window, cash, equity, positions, closes and new fills."""
    return {
        "t": update.start,
        "cash": update.cash,
        "equity": update.equity,
        "positions": update.positions,
        "closes": update.closes,
        "fills": [
            {
                "seq": f.seq,
                "ts": f.ts,
                "symbol": f.symbol,
                "size": f.size,
                "price": f.price,
                "commission": f.commission,
            }
            for f in update.fills
        ],
    }


# ---- the market and the desk -----------------------------------------------------------------------------


class _BarSink:
    """A hub subscriber that hands the closed bars of a market topic to the desk's bus."""

    def __init__(self, symbol: str, queue: asyncio.Queue[Bar]) -> None:
        self.symbol, self.queue = symbol, queue

    def offer(self, frame: str) -> bool:
        message = json.loads(frame)
        data = message.get("data") if message.get("kind") == "delta" else None
        if isinstance(data, dict) and data.get("r") == 0 and not data.get("f"):  # closed bars only
            bar = Bar(
                self.symbol, "1s", data["t"], data["o"], data["h"], data["l"], data["c"], data["v"], data["n"]
            )
            self.queue.put_nowait(bar)
        return True

    def force(self, frame: str) -> None:
        """Snapshots and status frames: nothing to hand on (the desk acts on new bars only)."""
        del frame


@contextlib.asynccontextmanager
async def app_market(settings: Settings) -> AsyncIterator[tuple[Transport, Topics]]:
    """The desk's transport: Kafka when configured, else this worker's market topics on a bus."""
    if settings.kafka_bootstrap:
        async with KafkaTransport(settings.kafka_bootstrap, client_id="quanta-paper") as kafka:
            yield kafka, Topics()
        return
    bus, topics, queue = InProcessBus(), Topics(), asyncio.Queue[Bar]()
    sinks = [(bar_topic(s), _BarSink(s, queue)) for s in live_market().symbols]
    for topic, sink in sinks:
        await live_hub().subscribe(topic, sink)

    async def pump() -> None:
        while True:
            bar = await queue.get()
            await bus.publish(topics.bars("1s"), bar.symbol, encode_bar(bar), timestamp_ms=bar.start)

    pumping = asyncio.create_task(pump(), name="paper-bars")
    try:
        yield bus, topics
    finally:
        await cancel_and_wait(pumping)
        for topic, sink in sinks:
            live_hub().unsubscribe(topic, sink)
        bus.close()


async def lead_desk(settings: Settings) -> None:
    """Run the desk on this worker until cancelled."""
    async with app_market(settings) as (transport, topics), PaperDesk(transport, topics, settings) as desk:
        desk.listeners.append(publish_update)
        await follow_deployments(desk, settings)


@contextlib.asynccontextmanager
async def run_paper() -> AsyncIterator[None]:
    """Lifespan task: the paper desk on one worker."""
    settings = get_settings()
    if settings.redis_url:
        lease = RedisLease(settings.redis_url, "paper-desk")
        task = asyncio.create_task(lease.run(lambda: lead_desk(settings)), name="paper-desk")
    else:
        task = asyncio.create_task(lead_desk(settings), name="paper-desk")
    try:
        yield
    finally:
        await cancel_and_wait(task)
