"""The HTTP API mounted beside the Reflex app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from quanta import data, db
from quanta.settings import get_settings
from quanta_app.api import build_api
from state.market import close_market, market, market_writer


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("QUANTA_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    market.cache_clear()
    yield TestClient(build_api())
    db.dispose_engines()
    close_market()
    get_settings.cache_clear()


def test_health_reports_the_databases(client: TestClient) -> None:
    db.migrate()
    with market_writer() as writer:
        data.import_bytes(
            writer, b"date,open,high,low,close,volume\n2024-01-02,1,2,0.5,1.5,10\n", "x.csv", symbol="XYZ"
        )

    response = client.get("/api/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["app_database"] is True
    assert body["market_instruments"] == 1


def test_openapi_docs_are_served(client: TestClient) -> None:
    assert client.get("/api/docs").status_code == 200
    assert "/api/health" in client.get("/api/openapi.json").json()["paths"]
