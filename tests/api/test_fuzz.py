"""Fuzz every operation of the OpenAPI document with schemathesis: no generated request gets a 5xx.

Requests carry a personal access token holding every API scope, so the fuzzing reaches past
authentication into the routes; the one 5xx allowed is the documented 501 for what needs the sandbox.
A few dozen derandomised examples per operation keep the run well under a minute. (Each operation runs
as a subtest: schemathesis's pytest fixture loader does not work with this pytest yet, so the
operations' Hypothesis strategies are driven directly.)
"""

from __future__ import annotations

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.generation.case import Case
from sqlmodel import Session

from quanta.testing.clock import FakeClock
from tests.api.conftest import ALL_SCOPES, bearer, make_pat, make_user

EXAMPLES_PER_OPERATION = 40
SANDBOX = "/api/problems/sandbox-required"


def no_server_error(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """No 5xx, except the documented 501 for what needs the workspace's sandbox."""
    if response.status_code == 501 and response.json().get("type") == SANDBOX:
        return True
    return not_a_server_error(ctx, response, case)


@pytest.mark.slow
def test_no_generated_request_gets_a_server_error(
    app: FastAPI, unit: Session, clock: FakeClock, subtests: pytest.Subtests
) -> None:
    headers = bearer(make_pat(unit, clock, make_user(unit, clock, "fuzz@example.com"), scopes=ALL_SCOPES))
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: Case) -> None:
            case.call_and_validate(headers=headers, checks=[no_server_error])

        with subtests.test(operation=operation.label):
            fuzz()
