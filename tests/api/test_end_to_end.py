"""End to end through the app's HTTP API: an organisation registers a client, gets a token with the
client credentials grant, reads bars in every format, runs the bundled SMA example and reads its results.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from quanta.api.deps import MarketAccess
from quanta.data import bars
from quanta.engine import Backtest
from quanta.examples import example
from quanta.loading import load_market, load_strategy
from quanta.runs import stats_json
from quanta.testing.clock import FakeClock
from tests.api.conftest import BACKENDS, bearer, client_token, make_org, make_user, register_client

START, END = "2010-01-04", "2012-12-31"


def expected_bars(market: MarketAccess, symbol: str, timeframe: str = "1D") -> pa.Table:
    """The bars straight from ``quanta.data``, with ``ts`` in UTC as the API serves them."""
    table = market.run(lambda con: bars(con, symbol, START, END, timeframe=timeframe).to_pyarrow())
    return table.set_column(1, "ts", table.column("ts").cast(pa.timestamp("us", tz="UTC")))


def assert_same_bars(got: pa.Table, want: pa.Table) -> None:
    assert got.column_names == want.column_names
    for name in want.column_names:
        assert got.column(name).to_pylist() == want.column(name).to_pylist(), name


def json_pages(client: TestClient, token: str, url: str) -> list[dict[str, Any]]:
    """Every item of a paged JSON answer, following ``Link: rel=next``."""
    items: list[dict[str, Any]] = []
    pages = 0
    while url:
        response = client.get(url, headers=bearer(token))
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        link = response.headers.get("link")
        url = link.split(";")[0].strip("<>") if link else ""
        pages += 1
    assert pages > 1
    return items


@pytest.mark.parametrize("app_database", BACKENDS, indirect=True)
def test_an_organisation_reads_bars_and_runs_a_backtest_with_client_credentials(
    client: TestClient, unit: Session, clock: FakeClock, market_store: MarketAccess
) -> None:
    owner = make_user(unit, clock, "ops@desk.example")
    org = make_org(unit, clock, owner, "Quant Desk")
    registered = register_client(unit, clock, owner, org)
    token = client_token(client, registered, scope="market:read backtests:run backtests:read")
    want = expected_bars(market_store, "GOOG")

    query = f"start={START}&end={END}&timeframe=1D"
    items = json_pages(client, token, f"/api/v1/instruments/GOOG/bars?{query}&limit=200")
    assert [item["close"] for item in items] == want.column("close").to_pylist()
    assert items[0]["ts"] == "2010-01-04T00:00:00Z"

    csv = client.get(f"/api/v1/instruments/GOOG/bars?{query}&format=csv", headers=bearer(token))
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
    table = pa_csv.read_csv(io.BytesIO(csv.content))
    assert table.column("close").to_pylist() == want.column("close").to_pylist()
    assert table.column("ts").cast(pa.timestamp("us", tz="UTC")).to_pylist() == want.column("ts").to_pylist()

    parquet = client.get(f"/api/v1/instruments/GOOG/bars?{query}&format=parquet", headers=bearer(token))
    assert parquet.headers["content-type"] == "application/vnd.apache.parquet"
    assert_same_bars(pq.read_table(io.BytesIO(parquet.content)), want)

    accept = {"Accept": "application/vnd.apache.arrow.stream"} | bearer(token)
    arrow = client.get(f"/api/v1/instruments/GOOG/bars?{query}", headers=accept)
    assert arrow.headers["content-type"] == "application/vnd.apache.arrow.stream"
    assert_same_bars(pa.ipc.open_stream(arrow.content).read_all(), want)

    body = {
        "example": "sma_cross",
        "symbols": ["GOOG"],
        "start": START,
        "end": END,
        "params": {"fast": 10, "slow": 30},
        "cash": 50_000,
        "commission": 0.002,
    }
    submitted = client.post("/api/v1/backtests", json=body, headers=bearer(token))
    assert submitted.status_code == 201, submitted.text
    backtest_id = submitted.json()["id"]
    assert submitted.headers["location"] == f"/api/v1/backtests/{backtest_id}"

    read = client.get(f"/api/v1/backtests/{backtest_id}", headers=bearer(token)).json()
    assert read["status"] == "succeeded"
    local = local_backtest(market_store, cash=50_000, commission=0.002, fast=10, slow=30)
    assert read["stats"] == json.loads(json.dumps(stats_json(local.stats)))
    trades = client.get(f"/api/v1/backtests/{backtest_id}/trades", headers=bearer(token)).json()["items"]
    assert len(trades) == len(local.trades) > 0
    equity = client.get(f"/api/v1/backtests/{backtest_id}/equity", headers=bearer(token)).json()["items"]
    assert [point["equity"] for point in equity] == local.equity.tolist()


def local_backtest(market: MarketAccess, *, cash: float, commission: float, **params: Any) -> Any:
    """The same backtest run directly with the engine."""
    item = example("sma_cross")
    strategy = load_strategy(item.path, item.class_name)
    data = market.run(lambda con: load_market(con, ["GOOG"], start=START, end=END))
    return Backtest(data.data, strategy, cash=cash, commission=commission).run(**params)
