"""A live competition on the embedded default trades and is valued on the app's own live bars: the
closed bars of this worker's market topics reach the competition's transport as they are published."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from quanta.competitions.lifecycle import Plan
from quanta.competitions.scoring import ScoringRules
from quanta.settings import Settings, get_settings
from quanta.streaming import Bar, Message, decode_bar, encode_bar
from quanta_app.competitions import market_for
from quanta_app.live import live_hub, live_market

pytestmark = pytest.mark.anyio

START = 1_700_000_000_000


@pytest.fixture
def app_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The app's settings on the embedded default (no Kafka), with GOOG among the live symbols."""
    monkeypatch.setenv("QUANTA_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("QUANTA_LIVE_SYMBOLS", "GOOG,AAPL")
    monkeypatch.delenv("QUANTA_KAFKA_BOOTSTRAP", raising=False)
    for cached in (get_settings, live_hub, live_market):
        cached.cache_clear()
    yield get_settings()
    for cached in (get_settings, live_hub, live_market):
        cached.cache_clear()


def live_plan() -> Plan:
    rules = ScoringRules(capital=10_000.0, symbols=frozenset({"GOOG"}))
    return Plan(
        competition="cp_live",
        rules=rules,
        symbols=("GOOG",),
        replay_start=None,
        replay_end=None,
        entered={},
        labels={},
        sources={},
    )


async def records(bars: list[Bar]) -> AsyncIterator[Message]:
    for bar in bars:
        yield Message(topic="quanta.bars.1s", key=bar.symbol, value=encode_bar(bar))


async def test_a_live_competition_without_kafka_gets_the_apps_live_bars(app_settings: Settings) -> None:
    del app_settings
    bars = [
        Bar("GOOG", "1s", START + 1000 * n, 10.0 + n, 11.0 + n, 9.0 + n, 10.5 + n, 100.0, 3) for n in range(5)
    ]
    async with (
        live_hub().running(),
        market_for(live_plan()) as (transport, topics),
        transport.subscribe(topics.bars("1s")) as subscription,
    ):
        assert await live_market().pump(records(bars)) == len(bars)
        got = [decode_bar((await asyncio.wait_for(anext(subscription), 5)).value) for _ in bars]

    assert [(b.symbol, b.start, b.close, b.volume) for b in got] == [
        (b.symbol, b.start, b.close, b.volume) for b in bars
    ]
