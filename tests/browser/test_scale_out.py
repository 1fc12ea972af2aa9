"""Scale-out settings: PostgreSQL for app and market data, Redis for state, several app workers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from playwright.sync_api import Page, expect

from quanta.testing.app_server import RunningApp, serve_app
from tests.conftest import sqlalchemy_url, temporary_database

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.postgres]


@pytest.fixture(scope="module")
def scaled_app(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str, redis_url: str
) -> Iterator[RunningApp]:
    with temporary_database(postgres_url) as app_db, temporary_database(postgres_url) as market_db:
        settings = {
            "QUANTA_DATABASE_URL": sqlalchemy_url(app_db),
            "QUANTA_MARKET_DATABASE_URL": market_db,
            "QUANTA_REDIS_URL": redis_url,
            "GRANIAN_WORKERS": "2",
        }
        with serve_app(tmp_path_factory.mktemp("scaled-var"), **settings) as app:
            yield app


def test_explorer_runs_on_postgres_with_state_in_redis(
    page: Page, scaled_app: RunningApp, redis_url: str
) -> None:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()

    page.goto(f"{scaled_app.url}/markets?symbol=IBM")
    expect(page.get_by_test_id("symbol-heading")).to_have_text("IBM")
    page.get_by_role("radio", name="1M").click()
    expect(page.get_by_role("radio", name="1M")).to_have_attribute("data-state", "on")
    expect(page.get_by_test_id("page-label")).to_contain_text("Page 1 of")

    stored = [key.decode() for key in client.keys("*")]
    assert any("explorer_state" in key for key in stored), stored
    page.reload()
    expect(page.get_by_test_id("symbol-heading")).to_have_text("IBM")
    expect(page.get_by_role("radio", name="1M")).to_have_attribute("data-state", "on")
