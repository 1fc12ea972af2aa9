"""The throwaway servers from quanta.testing.services really run and answer."""

from __future__ import annotations

import psycopg
import pytest
import redis


@pytest.mark.postgres
def test_postgres_server_accepts_queries(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as con:
        row = con.execute("SELECT current_user, inet_server_addr()::text").fetchone()
    assert row is not None
    assert row[0] == "postgres"
    assert row[1].startswith("127.0.0.1")


@pytest.mark.redis
def test_redis_server_stores_values(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        client.set("quanta:test", "1")
        assert client.get("quanta:test") == b"1"
        assert client.config_get("save") == {"save": ""}
    finally:
        client.close()
