"""Bearer authentication (personal access tokens and OAuth access tokens) and rate limits."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from quanta.accounts.service import (
    list_personal_access_tokens,
    revoke_api_client,
    revoke_personal_access_token,
)
from quanta.api.app import ApiRuntime
from quanta.api.deps import ApiConfig, api_limiter
from quanta.ratelimit import Quota, RedisRateLimiter
from quanta.testing.clock import FakeClock
from tests.api.conftest import bearer, client_token, make_org, make_pat, make_user, register_client

INSTRUMENTS = "/api/v1/instruments?limit=1"


def test_a_request_without_a_token_is_a_401_problem(client: TestClient) -> None:
    response = client.get(INSTRUMENTS)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == 'Bearer realm="quanta"'
    assert response.json()["type"] == "/api/problems/unauthenticated"


@pytest.mark.parametrize("token", ["qnt_pat_unknown", "not.a.jwt", "eyJhbGciOiJub25lIn0.e30.", "x" * 5000])
def test_an_invalid_token_is_a_401_problem(client: TestClient, token: str) -> None:
    response = client.get(INSTRUMENTS, headers=bearer(token))

    assert response.status_code == 401
    assert response.json()["type"] == "/api/problems/invalid-token"
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_a_revoked_or_expired_personal_access_token_stops_working(
    client: TestClient, unit: Session, clock: FakeClock
) -> None:
    user = make_user(unit, clock)
    revoked = make_pat(unit, clock, user)
    expiring = make_pat(unit, clock, user)
    assert client.get(INSTRUMENTS, headers=bearer(revoked)).status_code == 200
    first = list_personal_access_tokens(session=unit, user=user)[-1]  # newest first: the first made
    assert first.id is not None
    revoke_personal_access_token(session=unit, user=user, token_id=first.id, now=clock.now())
    unit.commit()

    assert client.get(INSTRUMENTS, headers=bearer(revoked)).status_code == 401
    clock.advance(days=91)
    assert client.get(INSTRUMENTS, headers=bearer(expiring)).status_code == 401


def test_tokens_of_a_disabled_person_or_a_revoked_client_stop_working(
    client: TestClient, unit: Session, clock: FakeClock
) -> None:
    owner = make_user(unit, clock, "owner@desk.example")
    org = make_org(unit, clock, owner, "Desk")
    robot = register_client(unit, clock, owner, org)
    token = client_token(client, robot)
    person = make_user(unit, clock, "ada@example.com")
    pat = make_pat(unit, clock, person)

    revoke_api_client(session=unit, actor=owner, org=org, client_id=robot.client_id, now=clock.now())
    person.disabled = True
    unit.add(person)
    unit.commit()

    assert client.get(INSTRUMENTS, headers=bearer(token)).status_code == 401
    assert client.get(INSTRUMENTS, headers=bearer(pat)).status_code == 401


@pytest.fixture
def redis_limiter(app: FastAPI, redis_url: str) -> Iterator[RedisRateLimiter]:
    """The app counting in the session's Redis, 3 requests a minute per token."""
    limiter = RedisRateLimiter.from_url(redis_url, prefix=f"test:{uuid.uuid4().hex}:")
    app.dependency_overrides[api_limiter] = lambda: limiter
    runtime: ApiRuntime = app.state.quanta_api
    runtime.config = ApiConfig(rate_limit=Quota(limit=3, window=timedelta(minutes=1)))
    yield limiter
    limiter.close()


@pytest.mark.redis
def test_a_token_over_its_quota_gets_429_until_the_window_passes(
    client: TestClient, unit: Session, clock: FakeClock, redis_limiter: RedisRateLimiter
) -> None:
    user = make_user(unit, clock)
    busy, quiet = make_pat(unit, clock, user), make_pat(unit, clock, user)

    remaining = [
        client.get(INSTRUMENTS, headers=bearer(busy)).headers["ratelimit-remaining"] for _ in range(3)
    ]
    refused = client.get(INSTRUMENTS, headers=bearer(busy))

    assert remaining == ["2", "1", "0"]
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"] == "/api/problems/rate-limited"
    assert 0 < int(refused.headers["retry-after"]) <= 60
    assert refused.headers["ratelimit-limit"] == "3"
    assert client.get(INSTRUMENTS, headers=bearer(quiet)).status_code == 200
    clock.advance(minutes=1)
    assert client.get(INSTRUMENTS, headers=bearer(busy)).status_code == 200


@pytest.mark.redis
def test_problems_after_authentication_carry_the_rate_limit_headers(
    client: TestClient, unit: Session, clock: FakeClock, redis_limiter: RedisRateLimiter
) -> None:
    token = make_pat(unit, clock, make_user(unit, clock))

    response = client.get("/api/v1/backtests/bt_nope", headers=bearer(token))

    assert response.status_code == 404
    assert response.headers["ratelimit-remaining"] == "2"


def test_the_token_endpoint_is_rate_limited_per_client(
    app: FastAPI, client: TestClient, unit: Session, clock: FakeClock
) -> None:
    runtime: ApiRuntime = app.state.quanta_api
    runtime.config = ApiConfig(token_rate_limit=Quota(limit=2, window=timedelta(minutes=1)))
    owner = make_user(unit, clock)
    robot = register_client(unit, clock, owner, make_org(unit, clock, owner))
    form = {"grant_type": "client_credentials"}

    statuses = [
        client.post("/api/oauth/token", data=form, headers=robot.basic()).status_code for _ in range(3)
    ]

    assert statuses == [200, 200, 429]
