"""``/api/v1/competitions`` on the real API app: organise (org:admin, site admins), list and read, enter a
version of your strategy (strategies:write) and see the entry pending its validation."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session

from quanta.testing.clock import FakeClock
from quanta.workspace.models import StrategyCreate
from quanta.workspace.service import create_strategy
from tests.accounts.conftest import make_user
from tests.api.conftest import (  # noqa: F401  (the API's fixtures, on this module's tests)
    api_sqlite_template,
    app,
    app_database,
    bearer,
    client,
    clock,
    limiter,
    make_pat,
    market_store,
    settings,
    unit,
)
from tests.competitions.conftest import SMA_CROSS


def terms(moment: FakeClock) -> dict[str, object]:
    return {
        "title": "API Cup",
        "symbols": ["GOOG"],
        "replay_start": "2012-01-03",
        "replay_end": "2012-03-30",
        "starts_at": (moment.now() + timedelta(days=1)).isoformat(),
        "ends_at": (moment.now() + timedelta(days=1, minutes=10)).isoformat(),
        "metric": "sharpe",
    }


def test_an_admin_organises_a_person_enters_and_anyone_reads(
    client: TestClient,  # noqa: F811 - the API's fixtures
    unit: Session,  # noqa: F811
    clock: FakeClock,  # noqa: F811
) -> None:
    admin = make_user(unit, clock, "ada@example.com", username="ada")
    admin.is_admin = True
    unit.add(admin)
    alice = make_user(unit, clock, "alice@example.com", username="alice")
    strategy = create_strategy(
        session=unit,
        owner=alice,
        strategy_in=StrategyCreate(title="Cross", source=SMA_CROSS),
        now=clock.now(),
    )
    unit.commit()
    admin_token = make_pat(unit, clock, admin, scopes=["org:admin"])
    alice_token = make_pat(unit, clock, alice, scopes=["org:admin", "strategies:write"])

    refused = client.post("/api/v1/competitions", json=terms(clock), headers=bearer(alice_token))
    created = client.post("/api/v1/competitions", json=terms(clock), headers=bearer(admin_token))
    assert refused.status_code == 403
    assert created.status_code == 201, created.text
    competition = created.json()
    assert (competition["status"], competition["metric"], competition["entries"]) == ("upcoming", "sharpe", 0)

    entered = client.post(
        f"/api/v1/competitions/{competition['id']}/entries",
        json={"strategy": strategy.public_id},
        headers=bearer(alice_token),
    )
    again = client.post(
        f"/api/v1/competitions/{competition['id']}/entries",
        json={"strategy": strategy.public_id},
        headers=bearer(alice_token),
    )
    assert entered.status_code == 201, entered.text
    assert again.status_code == 409
    listed = client.get("/api/v1/competitions", headers=bearer(alice_token)).json()
    entries = client.get(
        f"/api/v1/competitions/{competition['id']}/entries", headers=bearer(admin_token)
    ).json()
    assert [c["id"] for c in listed] == [competition["id"]]
    assert [(e["user"], e["status"], e["version"]) for e in entries] == [("alice", "pending", 1)]
    assert client.get("/api/v1/competitions/cp_nope", headers=bearer(alice_token)).status_code == 404
