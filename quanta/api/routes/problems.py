"""``/api/problems/{kind}``: what each of Quanta's problem types means (their ``type`` URIs point here)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel

from quanta.api.problems import PROBLEM_TYPES, PROBLEMS_PATH, ApiProblem

router = APIRouter(tags=["meta"])


class ProblemType(BaseModel):
    """One problem type: its URI, title and meaning."""

    type: str
    title: str
    description: str


@router.get(f"{PROBLEMS_PATH}", response_model=list[ProblemType])
def list_problem_types() -> list[ProblemType]:
    """Every problem type the API answers with."""
    return [_describe(kind) for kind in PROBLEM_TYPES]


@router.get(f"{PROBLEMS_PATH}/{{kind}}", response_model=ProblemType)
def get_problem_type(*, kind: Annotated[str, Path(max_length=64)]) -> ProblemType:
    """What one problem type means."""
    if kind not in PROBLEM_TYPES:
        raise ApiProblem(404, f"No problem type {kind!r}.")
    return _describe(kind)


def _describe(kind: str) -> ProblemType:
    title, description = PROBLEM_TYPES[kind]
    return ProblemType(type=f"{PROBLEMS_PATH}/{kind}", title=title, description=description)
