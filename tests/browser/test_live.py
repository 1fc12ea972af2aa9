"""The live market page in a real browser: the chart ticks, the price is the hub's, the badge says live;
with Kafka, a broker outage shows "Feed stale since …" and the page recovers by itself."""

from __future__ import annotations

import asyncio
import itertools
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from pipelines.kafka import KafkaTransport, ensure_topics
from quanta.broadcast.client import BroadcastClient
from quanta.streaming import Bar, Topics, encode_bar
from quanta.testing.app_server import RunningApp, serve_app
from quanta.testing.services import KafkaBroker

pytestmark = pytest.mark.browser

LIVE_TIMEOUT = 90_000  # ms: the first page load of a fresh production build may compile for a while


def hub_bars(app: RunningApp, symbol: str) -> list[dict[str, Any]]:
    """``symbol``'s recent bars as the app's hub has them (its snapshot)."""

    async def snapshot() -> dict[str, Any]:
        client = await BroadcastClient.connect(app.url.replace("http://", "ws://") + "/live/ws")
        await client.subscribe(f"market.bars.1s.{symbol}")
        frame = await client.receive()
        await client.close()
        return frame

    with ThreadPoolExecutor(1) as thread:  # Playwright's sync API runs an event loop in this thread
        frame = thread.submit(asyncio.run, asyncio.wait_for(snapshot(), 20)).result()
    assert frame["kind"] == "snapshot"
    return list(frame["data"]["bars"])


def from_the_hub(price: str, bars: list[dict[str, Any]]) -> bool:
    """``price`` (as the page shows it) is a bar's close, or — the page showed a forming bar that has
    taken more ticks since — lies within the range of one of the newest windows."""
    if price in {f"{b['c']:,.2f}" for b in bars}:
        return True
    value = float(price.replace(",", ""))
    return any(b["l"] - 0.005 <= value <= b["h"] + 0.005 for b in bars[-3:])


def shown(page: Page, test_id: str) -> str:
    return page.get_by_test_id(test_id).inner_text()


def test_the_live_chart_ticks_and_says_live(page: Page, app_server: RunningApp) -> None:
    page.goto(f"{app_server.url}/live")
    market = page.get_by_test_id("live-market")
    expect(page.get_by_test_id("live-status")).to_have_attribute("data-state", "live", timeout=LIVE_TIMEOUT)
    expect(market).to_have_attribute("data-bars", re.compile(r"^[1-9]\d*$"))
    canvas = page.get_by_test_id("live-chart").locator("canvas").first
    box = canvas.bounding_box()
    assert box is not None
    assert box["width"] > 300
    assert box["height"] > 200

    expect(market).to_have_attribute("data-forming", "true")  # the last candle moves with the ticks
    prices, seqs = [shown(page, "live-last-price")], [int(market.get_attribute("data-seq") or 0)]
    deadline = time.monotonic() + 15
    while len(set(prices)) < 3 and time.monotonic() < deadline:
        page.wait_for_timeout(500)
        prices.append(shown(page, "live-last-price"))
        seqs.append(int(market.get_attribute("data-seq") or 0))

    assert len(set(prices)) >= 3, f"the price did not move: {prices}"
    assert seqs == sorted(seqs)
    assert seqs[-1] > seqs[0]
    expect(page.get_by_test_id("live-status")).to_have_text("live")
    assert from_the_hub(prices[-1], hub_bars(app_server, "GOOG"))  # the hub's data, not a guess
    expect(page.get_by_test_id("live-indicator-sma_20")).to_have_text(re.compile(r"^[\d,]+\.\d\d$"))
    expect(page.get_by_test_id("live-volume")).to_have_text(re.compile(r"^[\d,]+$"))


def test_picking_another_symbol_follows_its_topic(page: Page, app_server: RunningApp) -> None:
    page.goto(f"{app_server.url}/live")
    expect(page.get_by_test_id("live-status")).to_have_attribute("data-state", "live", timeout=LIVE_TIMEOUT)

    page.get_by_test_id("live-symbol").click()
    page.get_by_role("option", name="AAPL").click()

    market = page.get_by_test_id("live-market")
    expect(market).to_have_attribute("data-symbol", "AAPL")
    expect(page.get_by_test_id("live-status")).to_have_attribute("data-state", "live")
    expect(market).to_have_attribute("data-bars", re.compile(r"^[1-9]\d*$"))
    assert from_the_hub(shown(page, "live-last-price"), hub_bars(app_server, "AAPL"))


@pytest.mark.kafka
def test_the_page_says_since_when_the_kafka_feed_is_stale_and_recovers_by_itself(
    page: Page, tmp_path_factory: pytest.TempPathFactory, kafka_broker: KafkaBroker, kafka_bootstrap: str
) -> None:
    stop = threading.Event()

    async def publish_bars() -> None:  # one GOOG bar on quanta.bars.1s every 0.3 s, through the outage
        start = int(time.time()) * 1000
        await ensure_topics(kafka_bootstrap, [Topics().bars("1s")])
        async with KafkaTransport(kafka_bootstrap) as transport:
            for n in itertools.count():
                if stop.is_set():
                    return
                bar = Bar("GOOG", "1s", start + 1000 * n, 100.0, 101.0, 99.0, 100.0 + n % 5, 10.0, 16)
                await transport.publish(Topics().bars("1s"), "GOOG", encode_bar(bar), timestamp_ms=bar.start)
                await transport.flush()
                await asyncio.sleep(0.3)

    var_dir = tmp_path_factory.mktemp("app-kafka")
    with ThreadPoolExecutor(1) as thread, serve_app(var_dir, QUANTA_KAFKA_BOOTSTRAP=kafka_bootstrap) as app:
        publishing = thread.submit(asyncio.run, publish_bars())
        try:
            page.goto(f"{app.url}/live")
            status, stale = page.get_by_test_id("live-status"), page.get_by_test_id("live-stale")
            expect(status).to_have_attribute("data-state", "live", timeout=LIVE_TIMEOUT)
            expect(stale).to_have_count(0)

            kafka_broker.stop()
            expect(stale).to_contain_text(re.compile(r"^Feed stale since \d\d:\d\d:\d\d"), timeout=30_000)
            expect(stale).to_have_attribute("data-since", re.compile(r"^\d{4}-\d\d-\d\dT"))
            expect(status).to_have_attribute("data-state", "stale")
            kafka_broker.start()
            expect(status).to_have_attribute("data-state", "live", timeout=60_000)
            expect(stale).to_have_count(0)
        finally:
            kafka_broker.start()
            stop.set()
            publishing.result(timeout=60)
