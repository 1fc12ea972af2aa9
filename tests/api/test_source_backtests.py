"""``POST /api/v1/backtests`` with your own source: checked when submitted, run by the sandbox's
workers (never in the web process), read back like any backtest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from quanta.data import SOURCES, connect, load_bundled
from quanta.sandbox import Job
from quanta.settings import Settings
from quanta.testing.clock import FakeClock
from tests.api.conftest import (
    PUBLIC_URL,
    SECRET_KEY,
    bearer,
    client_token,
    make_org,
    make_pat,
    make_user,
    register_client,
)

SMA_CROSS = (Path(__file__).parents[2] / "quanta" / "examples" / "sma_cross.py").read_text()
YEAR = {"symbols": ["GOOG"], "start": "2011-01-01", "end": "2011-12-31"}
BLAS = ("Alpha [%]", "Beta")  # BLAS dot products: the last bits depend on the arrays' alignment


@pytest.fixture(scope="module")
def worker_market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A market file the sandbox's workers open read-only (the API's own store stays open for writing)."""
    folder = tmp_path_factory.mktemp("worker-market")
    con = connect(Settings(var_dir=folder, duckdb_path=folder / "market.duckdb"))
    load_bundled(con, sources=tuple(s for s in SOURCES if s.package == "bokeh-sampledata"))
    con.disconnect()
    return folder / "market.duckdb"


@pytest.fixture
def settings(tmp_path: Path, app_database: str, worker_market: Path) -> Settings:
    return Settings(
        var_dir=tmp_path,
        database_url=app_database,
        public_url=PUBLIC_URL,
        secret_key=SECRET_KEY,
        duckdb_path=worker_market,
    )


def post(client: TestClient, token: str, body: dict[str, Any]) -> Any:
    return client.post("/api/v1/backtests", json=body, headers=bearer(token))


def test_own_source_runs_in_the_sandbox_and_matches_the_bundled_example(
    client: TestClient, unit: Session, clock: FakeClock
) -> None:
    token = make_pat(unit, clock, make_user(unit, clock))

    own = post(client, token, {"source": SMA_CROSS, "params": {"fast": 5}} | YEAR)
    example = post(client, token, {"example": "sma_cross", "params": {"fast": 5}} | YEAR).json()

    assert own.status_code == 201, own.text
    answer = own.json()
    assert (answer["status"], answer["example"], answer["class_name"]) == ("succeeded", None, "SmaCross")
    assert answer["params"] == {"fast": 5, "slow": 20}
    assert {k: v for k, v in answer["stats"].items() if k not in BLAS} == {
        k: v for k, v in example["stats"].items() if k not in BLAS
    }
    trades = client.get(f"/api/v1/backtests/{answer['id']}/trades", headers=bearer(token)).json()["items"]
    assert len(trades) == answer["stats"]["# Trades"] > 0
    assert unit.exec(select(Job.public_id, Job.status)).all() == [(answer["id"], "succeeded")]


def test_a_failing_own_strategy_reports_its_line(client: TestClient, unit: Session, clock: FakeClock) -> None:
    token = make_pat(unit, clock, make_user(unit, clock))
    source = "from quanta import Strategy\n\n\nclass Broken(Strategy):\n    def next(self):\n        1 / 0\n"

    answer = post(client, token, {"source": source} | YEAR).json()

    assert answer["status"] == "failed"
    assert answer["error"] == "strategy: ZeroDivisionError: division by zero (line 6)"
    listed = client.get("/api/v1/backtests", headers=bearer(token)).json()["items"]
    assert [(b["id"], b["status"]) for b in listed] == [(answer["id"], "failed")]


@pytest.mark.parametrize(
    ("source", "detail"),
    [
        ("from quanta import Strategy\nimport os\n", "forbidden import os (line 2)"),
        ("class Oops(Strategy:\n", "syntax error: invalid syntax (line 1)"),
        ("print('no strategy here')\n", "the source defines no strategy class"),
    ],
)
def test_source_the_sandbox_would_refuse_is_refused_at_once(
    *, client: TestClient, unit: Session, clock: FakeClock, source: str, detail: str
) -> None:
    token = make_pat(unit, clock, make_user(unit, clock))

    response = post(client, token, {"source": source} | YEAR)

    assert response.status_code == 422
    assert response.json()["type"] == "/api/problems/validation"
    assert detail in response.json()["detail"]
    assert unit.exec(select(Job)).all() == []


def test_own_source_needs_symbols(client: TestClient, unit: Session, clock: FakeClock) -> None:
    token = make_pat(unit, clock, make_user(unit, clock))

    response = post(client, token, {"source": SMA_CROSS})

    assert response.status_code == 422
    assert "`source` needs `symbols`" in response.text


def test_an_organisations_client_cannot_run_own_source(
    client: TestClient, unit: Session, clock: FakeClock
) -> None:
    owner = make_user(unit, clock, "owner@desk.example")
    robot = register_client(unit, clock, owner, make_org(unit, clock, owner, "Desk"))

    response = post(client, client_token(client, robot), {"source": SMA_CROSS} | YEAR)

    assert response.status_code == 403
    assert "for a person" in response.json()["detail"]
