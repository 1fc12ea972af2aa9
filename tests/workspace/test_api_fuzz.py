"""Fuzz the workspace's operations of the OpenAPI document with a token that may also write: no generated
request gets a 5xx. Half the requests aim at a real strategy (with versions and a collaborator), so the
fuzzing reaches past "not found" into saving versions, diffs, forks, stars and collaborators.
(tests/api/test_fuzz.py fuzzes every operation with a read-only token.)
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.case import Case
from schemathesis.schemas import APIOperation
from sqlmodel import Session

from quanta.testing.clock import FakeClock
from quanta.workspace.models import CollaboratorCreate, StrategyCreate, VersionCreate, Visibility
from quanta.workspace.service import add_collaborator, create_strategy, create_version
from tests.accounts.conftest import make_user
from tests.api.conftest import bearer, make_pat
from tests.workspace.conftest import SOURCE

EXAMPLES_PER_OPERATION = 40
WORKSPACE = "/api/v1/strategies"


@pytest.mark.slow
def test_no_generated_workspace_request_gets_a_server_error(
    app: FastAPI, unit: Session, clock: FakeClock, subtests: pytest.Subtests
) -> None:
    fuzzer = make_user(unit, clock, "fuzz@example.com", username="fuzzer")
    make_user(unit, clock, "pal@example.com", username="pal")
    headers = bearer(make_pat(unit, clock, fuzzer, scopes=["strategies:read", "strategies:write"]))
    target = create_strategy(
        session=unit,
        owner=fuzzer,
        strategy_in=StrategyCreate(title="Target", source=SOURCE, visibility=Visibility.PUBLIC, tags=["fx"]),
        now=clock.now(),
    )
    version_in = VersionCreate(source=SOURCE + "# two\n")
    create_version(session=unit, actor=fuzzer, strategy=target, version_in=version_in, now=clock.now())
    add_collaborator(
        session=unit,
        actor=fuzzer,
        strategy=target,
        collaborator_in=CollaboratorCreate(username="pal"),
        now=clock.now(),
    )
    unit.commit()
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app)
    operations = [
        op for op in (result.ok() for result in schema.get_all_operations()) if op.path.startswith(WORKSPACE)
    ]
    assert len(operations) >= 15

    for operation in operations:
        with subtests.test(operation=operation.label):
            fuzzer_of(operation, target_id=target.public_id, headers=headers)()
    unit.expire_all()
    assert target.fork_count > 0  # the fuzzing got past "not found"


def fuzzer_of(operation: APIOperation, *, target_id: str, headers: dict[str, str]) -> Callable[[], None]:
    """The Hypothesis test of one operation; its strategy id is the target's in about half the cases
    (never for deleting the strategy itself)."""
    deletes_target = operation.method.upper() == "DELETE" and operation.path.endswith("{strategy_id}")
    aims_at_target = "{strategy_id}" in operation.path and not deletes_target

    @given(case=operation.as_strategy(), aim=st.booleans())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: Case, aim: bool) -> None:
        if aim and aims_at_target:
            case.path_parameters = {**(case.path_parameters or {}), "strategy_id": target_id}
        case.call_and_validate(headers=headers, checks=[not_a_server_error])

    return fuzz
