"""Every error of the app is an RFC 9457 problem, and each problem type is described at its URI."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from quanta.testing.clock import FakeClock
from tests.api.conftest import bearer, make_pat, make_user


def test_an_unknown_route_is_a_404_problem(client: TestClient) -> None:
    response = client.get("/api/v2/everything")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "instance": "/api/v2/everything",
    }


def test_a_wrong_method_is_a_405_problem(client: TestClient) -> None:
    response = client.delete("/api/v1/instruments")

    assert response.status_code == 405
    assert response.json()["title"] == "Method Not Allowed"


def test_validation_errors_list_each_field(client: TestClient, unit: Session, clock: FakeClock) -> None:
    token = make_pat(unit, clock, make_user(unit, clock))

    response = client.get("/api/v1/instruments?limit=many&q=" + "x" * 200, headers=bearer(token))

    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "/api/problems/validation"
    assert {error["location"] for error in problem["errors"]} == {"query.limit", "query.q"}
    assert "x" * 200 not in response.text  # the input is not echoed back


def test_a_malformed_json_body_is_a_problem(client: TestClient, unit: Session, clock: FakeClock) -> None:
    token = make_pat(unit, clock, make_user(unit, clock))

    response = client.post(
        "/api/v1/backtests",
        content=b"{not json",
        headers=bearer(token) | {"Content-Type": "application/json"},
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


def test_problem_types_are_described_where_their_type_points(client: TestClient) -> None:
    kinds = client.get("/api/problems").json()
    described = client.get("/api/problems/insufficient-scope").json()

    assert "/api/problems/rate-limited" in [kind["type"] for kind in kinds]
    assert described["title"] == "Insufficient scope"
    assert client.get("/api/problems/nope").status_code == 404


def test_the_openapi_document_lists_both_security_schemes(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()

    schemes = spec["components"]["securitySchemes"]
    assert schemes["PersonalAccessToken"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "qnt_pat_…",
        "description": schemes["PersonalAccessToken"]["description"],
    }
    assert set(schemes["OAuth2"]["flows"]) == {"clientCredentials", "authorizationCode"}
    assert {"PersonalAccessToken": ["market:read"]} in spec["paths"]["/api/v1/instruments"]["get"]["security"]
    assert client.get("/api/docs").status_code == 200
