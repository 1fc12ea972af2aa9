"""The hand-written 0003 migration matches the models, and deleting people or organisations still works
with OAuth grants, identities and API backtests hanging off them."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlmodel import Session, select

import quanta.models  # noqa: F401  (every table on SQLModel.metadata)
from quanta import db
from quanta.accounts.service import delete_account, delete_organization
from quanta.api.models import ApiBacktest
from quanta.oauth.models import OAuthAccessToken, OAuthGrant, OAuthIdentity
from quanta.settings import Settings
from quanta.testing.clock import FakeClock
from tests.api.conftest import (
    BACKENDS,
    PASSWORD,
    bearer,
    client_token,
    make_org,
    make_pat,
    make_user,
    register_client,
)
from tests.schema import schema_drift

OUR_TABLES = {
    "oauth_signing_key",
    "oauth_grant",
    "oauth_authorization_code",
    "oauth_refresh_token",
    "oauth_access_token",
    "oauth_identity",
    "api_backtest",
}


@pytest.mark.parametrize("app_database", BACKENDS, indirect=True)
def test_the_migrated_schema_matches_the_models(settings: Settings) -> None:
    assert schema_drift(db.engine(settings), OUR_TABLES) == []
    assert db.current_revision(settings) == ScriptDirectory(str(db.MIGRATIONS)).get_current_head()


@pytest.mark.parametrize("app_database", BACKENDS, indirect=True)
def test_deleting_people_and_organisations_deletes_what_hangs_off_them(
    client: TestClient, unit: Session, clock: FakeClock
) -> None:
    owner = make_user(unit, clock, "owner@desk.example")
    org = make_org(unit, clock, owner, "Desk")
    robot = register_client(unit, clock, owner, org)
    robot_token = client_token(client, robot)
    person = make_user(unit, clock, "ada@example.com")
    pat = make_pat(unit, clock, person)
    body = {"example": "sma_cross", "start": "2012-01-01", "end": "2012-12-31"}
    assert client.post("/api/v1/backtests", json=body, headers=bearer(robot_token)).status_code == 201
    assert client.post("/api/v1/backtests", json=body, headers=bearer(pat)).status_code == 201
    unit.add(
        OAuthIdentity(user_id=person.id or 0, provider="oidc", subject="ada-at-idp", created_at=clock.now())
    )
    unit.commit()

    delete_account(session=unit, user=person, password=PASSWORD, now=clock.now())
    delete_organization(session=unit, actor=owner, org=org, now=clock.now())
    unit.commit()

    for model in (ApiBacktest, OAuthGrant, OAuthAccessToken, OAuthIdentity):
        assert unit.exec(select(model)).all() == [], model.__name__
