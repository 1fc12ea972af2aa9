"""The typed httpx client in docs/api.md works against the app served over real HTTP."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pyarrow as pa
from fastapi import FastAPI
from sqlmodel import Session

from quanta.api.deps import MarketAccess
from quanta.data import bars
from quanta.testing.clock import FakeClock
from tests.api.conftest import make_org, make_user, register_client
from tests.api.servers import serve_asgi

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def doc_example() -> dict[str, Any]:
    """The namespace of the python block under "A typed client with httpx"."""
    section = DOC.read_text(encoding="utf-8").split("## A typed client with httpx", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert code is not None
    namespace: dict[str, Any] = {"__name__": "docs_api_example"}
    exec(compile(code.group(1), str(DOC), "exec"), namespace)  # our own documentation
    return namespace


def test_the_documented_client_reads_arrow_bars_and_runs_a_backtest(
    app: FastAPI, unit: Session, clock: FakeClock, market_store: MarketAccess
) -> None:
    owner = make_user(unit, clock, "ops@desk.example")
    robot = register_client(unit, clock, owner, make_org(unit, clock, owner, "Desk"))

    with serve_asgi(app) as base_url:
        goog, result = doc_example()["run"](base_url, robot.client_id, robot.secret)

    want = market_store.run(lambda con: bars(con, "GOOG", "2012-01-01", "2012-12-31").to_pyarrow())
    assert goog.column("close").to_pylist() == want.column("close").to_pylist()
    assert goog.schema.field("ts").type == pa.timestamp("us", tz="UTC")
    assert result["status"] == "succeeded"
    assert result["stats"]["# Trades"] > 0
