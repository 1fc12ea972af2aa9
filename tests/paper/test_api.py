"""``/api/v1/paper`` through the app's real FastAPI (as Reflex mounts it): deploy, list, read the account,
stop and restart, with the scopes and the strategy's roles deciding who may."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from quanta.testing.clock import FakeClock
from quanta.workspace.models import CollaboratorCreate, CollaboratorRole, StrategyCreate
from quanta.workspace.service import add_collaborator, create_strategy
from tests.api.conftest import (  # noqa: F401  (the API suite's fixtures)
    api_sqlite_template,
    app,
    app_database,
    bearer,
    client,
    clock,
    limiter,
    make_pat,
    make_user,
    market_store,
    settings,
    unit,
)
from tests.paper.conftest import SMA_CROSS

WRITE = ["strategies:read", "strategies:write"]


def test_deploy_list_read_stop_and_restart_through_the_api(
    client: TestClient,  # noqa: F811
    unit: Session,  # noqa: F811
    clock: FakeClock,  # noqa: F811
) -> None:
    owner = make_user(unit, clock, "olga@example.com", username="olga")
    viewer = make_user(unit, clock, "vic@example.com", username="vic")
    strategy = create_strategy(
        session=unit,
        owner=owner,
        strategy_in=StrategyCreate(title="Cross", source=SMA_CROSS),
        now=clock.now(),
    )
    add_collaborator(
        session=unit,
        actor=owner,
        strategy=strategy,
        collaborator_in=CollaboratorCreate(username="vic", role=CollaboratorRole.VIEWER),
        now=clock.now(),
    )
    unit.commit()
    mine, theirs = bearer(make_pat(unit, clock, owner, WRITE)), bearer(make_pat(unit, clock, viewer, WRITE))
    body = {
        "strategy": strategy.public_id,
        "symbols": ["GOOG"],
        "capital": 25_000,
        "costs": {"commission": 0.001},
    }

    created = client.post("/api/v1/paper", json=body, headers=mine)
    assert created.status_code == 201, created.text
    deployment = created.json()
    assert (deployment["status"], deployment["version"], deployment["symbols"]) == ("running", 1, ["GOOG"])
    assert created.headers["Location"] == f"/api/v1/paper/{deployment['id']}"
    assert client.post("/api/v1/paper", json=body, headers=theirs).status_code == 403
    bad = client.post("/api/v1/paper", json=body | {"symbols": ["no way"]}, headers=mine)
    assert bad.status_code == 422

    listed = client.get(f"/api/v1/strategies/{strategy.public_id}/paper", headers=theirs)
    assert [d["id"] for d in listed.json()] == [deployment["id"]]
    account = client.get(f"/api/v1/paper/{deployment['id']}/account", headers=theirs).json()
    assert (account["equity"], account["cash"], account["fills"], account["positions"]) == (
        25_000,
        25_000,
        [],
        [],
    )

    assert client.post(f"/api/v1/paper/{deployment['id']}/stop", headers=theirs).status_code == 403
    stopped = client.post(f"/api/v1/paper/{deployment['id']}/stop", headers=mine)
    assert stopped.json()["status"] == "stopped"
    restarted = client.post(f"/api/v1/paper/{deployment['id']}/restart", headers=mine)
    assert restarted.json()["status"] == "running"
    assert client.get("/api/v1/paper/pp_nothing", headers=mine).status_code == 404
