"""``/api/v1/backtests`` and ``/api/v1/strategies``: submitting, ownership (no IDOR), refusals."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from quanta.api.app import ApiRuntime
from quanta.api.deps import ApiConfig
from quanta.testing.clock import FakeClock
from tests.api.conftest import BACKENDS, bearer, client_token, make_org, make_pat, make_user, register_client

SMA = {"example": "sma_cross", "symbols": ["GOOG"], "start": "2011-01-01", "end": "2011-12-31"}


def submit(client: TestClient, token: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = client.post("/api/v1/backtests", json=body or SMA, headers=bearer(token))
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


@pytest.mark.parametrize("app_database", BACKENDS, indirect=True)
def test_a_person_cannot_read_anothers_backtest(client: TestClient, unit: Session, clock: FakeClock) -> None:
    alice = make_pat(unit, clock, make_user(unit, clock, "alice@example.com"))
    bob = make_pat(unit, clock, make_user(unit, clock, "bob@example.com"))
    backtest_id = submit(client, alice)["id"]

    for path in ("", "/trades", "/equity"):
        response = client.get(f"/api/v1/backtests/{backtest_id}{path}", headers=bearer(bob))
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"
        assert client.get(f"/api/v1/backtests/{backtest_id}{path}", headers=bearer(alice)).status_code == 200
    assert client.get("/api/v1/backtests", headers=bearer(bob)).json()["items"] == []
    assert [b["id"] for b in client.get("/api/v1/backtests", headers=bearer(alice)).json()["items"]] == [
        backtest_id
    ]


def test_an_organisations_client_and_a_person_do_not_see_each_others_backtests(
    client: TestClient, unit: Session, clock: FakeClock
) -> None:
    owner = make_user(unit, clock, "owner@desk.example")
    robot = register_client(unit, clock, owner, make_org(unit, clock, owner, "Desk"))
    robot_token = client_token(client, robot)
    rival_owner = make_user(unit, clock, "rival@other.example")
    rival = register_client(unit, clock, rival_owner, make_org(unit, clock, rival_owner, "Other"))
    person = make_pat(unit, clock, owner)

    by_robot = submit(client, robot_token)["id"]
    by_person = submit(client, person)["id"]

    assert client.get(f"/api/v1/backtests/{by_robot}", headers=bearer(robot_token)).status_code == 200
    assert client.get(f"/api/v1/backtests/{by_robot}", headers=bearer(person)).status_code == 404
    assert client.get(f"/api/v1/backtests/{by_person}", headers=bearer(robot_token)).status_code == 404
    assert (
        client.get(f"/api/v1/backtests/{by_robot}", headers=bearer(client_token(client, rival))).status_code
        == 404
    )


def test_scopes_are_enforced_per_route(client: TestClient, unit: Session, clock: FakeClock) -> None:
    user = make_user(unit, clock)
    runner = make_pat(unit, clock, user, scopes=["backtests:run"])
    reader = make_pat(unit, clock, user, scopes=["backtests:read"])
    backtest_id = submit(client, runner)["id"]

    denied = client.get(f"/api/v1/backtests/{backtest_id}", headers=bearer(runner))
    assert denied.status_code == 403
    assert denied.json()["missing_scopes"] == ["backtests:read"]
    assert 'error="insufficient_scope"' in denied.headers["www-authenticate"]
    assert client.get(f"/api/v1/backtests/{backtest_id}", headers=bearer(reader)).status_code == 200
    assert client.post("/api/v1/backtests", json=SMA, headers=bearer(reader)).status_code == 403
    assert client.get("/api/v1/instruments", headers=bearer(reader)).status_code == 403


@pytest.mark.parametrize(
    ("body", "status", "kind"),
    [
        ({"example": "sma_crosss"}, 422, "unknown-strategy"),
        ({"example": "sma_cross", "params": {"fastt": 5}}, 422, "validation"),
        ({"example": "sma_cross", "params": {"fast": "quick"}}, 422, "validation"),
        ({"example": "sma_cross", "symbols": ["NOPE"]}, 422, "unknown-symbol"),
        ({"example": "sma_cross", "source": "x"}, 422, "validation"),
        ({}, 422, "validation"),
        ({"example": "sma_cross", "cash": -5}, 422, "validation"),
        ({"example": "sma_cross", "start": "2012-01-01", "end": "2011-01-01"}, 422, "validation"),
        ({"example": "sma_cross", "surprise": 1}, 422, "validation"),
    ],
)
def test_bad_submissions_are_problems(
    *, client: TestClient, unit: Session, clock: FakeClock, body: dict[str, Any], status: int, kind: str
) -> None:
    token = make_pat(unit, clock, make_user(unit, clock))

    response = client.post("/api/v1/backtests", json=body, headers=bearer(token))

    assert response.status_code == status, response.text
    assert response.json()["type"] == f"/api/problems/{kind}"


def test_a_failing_backtest_reports_why(client: TestClient, unit: Session, clock: FakeClock) -> None:
    token = make_pat(unit, clock, make_user(unit, clock))

    answer = submit(client, token, SMA | {"start": "1990-01-01", "end": "1990-12-31"})

    assert answer["status"] == "failed"
    assert "no GOOG bars" in answer["error"]
    trades = client.get(f"/api/v1/backtests/{answer['id']}/trades", headers=bearer(token))
    assert trades.status_code == 409


def test_a_slow_backtest_answers_202_and_finishes_later(
    app: FastAPI, client: TestClient, unit: Session, clock: FakeClock
) -> None:
    runtime: ApiRuntime = app.state.quanta_api
    runtime.config = ApiConfig(backtest_wait=timedelta(0))
    token = make_pat(unit, clock, make_user(unit, clock))

    response = client.post("/api/v1/backtests", json=SMA, headers=bearer(token))

    assert response.status_code == 202
    runtime.runner.shutdown()  # waits for the running backtest
    final = client.get(response.headers["location"], headers=bearer(token)).json()
    assert final["status"] == "succeeded"
    assert final["stats"]["# Trades"] > 0


def test_a_multi_symbol_example_runs_on_its_default_symbols(
    client: TestClient, unit: Session, clock: FakeClock
) -> None:
    token = make_pat(unit, clock, make_user(unit, clock))

    answer = submit(client, token, {"example": "pairs_trade", "start": "2010-01-01", "end": "2012-12-31"})

    assert answer["status"] == "succeeded", answer["error"]
    assert answer["symbols"] == ["KO", "PEP"]


def test_strategies_list_the_bundled_examples(client: TestClient, unit: Session, clock: FakeClock) -> None:
    token = make_pat(unit, clock, make_user(unit, clock), scopes=["market:read"])

    listed = client.get("/api/v1/strategies", headers=bearer(token)).json()["items"]
    sma = client.get("/api/v1/strategies/example:sma_cross", headers=bearer(token)).json()

    assert "example:sma_cross" in [s["id"] for s in listed]
    assert sma["params"] == {"fast": 10, "slow": 20}
    assert "class SmaCross" in sma["code"]
    own = client.get("/api/v1/strategies?source=own", headers=bearer(token))
    assert own.json()["missing_scopes"] == ["strategies:read"]
    assert client.get("/api/v1/strategies/example:nope", headers=bearer(token)).status_code == 404
