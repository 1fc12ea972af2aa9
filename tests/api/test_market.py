"""``/api/v1/instruments``: search and paging, and bars in every format on DuckDB and PostgreSQL."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from ibis.backends import BaseBackend
from sqlmodel import Session

from quanta.api.deps import MarketAccess, api_market
from quanta.data import bars
from quanta.testing.clock import FakeClock
from tests.api.conftest import bearer, make_pat, make_user


@pytest.fixture
def token(unit: Session, clock: FakeClock) -> str:
    return make_pat(unit, clock, make_user(unit, clock), scopes=["market:read"])


def decode(response: object, format_: str) -> pa.Table:
    content = response.content  # type: ignore[attr-defined]
    if format_ == "csv":
        table = pa_csv.read_csv(io.BytesIO(content))
        return table.set_column(1, "ts", table.column("ts").cast(pa.timestamp("us", tz="UTC")))
    if format_ == "parquet":
        return pq.read_table(io.BytesIO(content))
    return pa.ipc.open_stream(content).read_all()


@pytest.mark.parametrize("timeframe", ["1D", "1W", "1M"])
@pytest.mark.parametrize("format_", ["csv", "parquet", "arrow"])
def test_bars_in_every_format_match_the_data_layer_on_each_backend(
    *, app: FastAPI, client: TestClient, token: str, bundled_con: BaseBackend, format_: str, timeframe: str
) -> None:
    app.dependency_overrides[api_market] = lambda: MarketAccess(lambda: bundled_con)
    want = bars(bundled_con, "AAPL", "2011-01-01", "2011-12-31", timeframe=timeframe).to_pyarrow()

    response = client.get(
        "/api/v1/instruments/AAPL/bars",
        params={"start": "2011-01-01", "end": "2011-12-31", "timeframe": timeframe, "format": format_},
        headers=bearer(token),
    )

    assert response.status_code == 200, response.text
    got = decode(response, format_)
    assert got.num_rows == want.num_rows > 0
    assert got.column("ts").to_pylist() == want.column("ts").cast(pa.timestamp("us", tz="UTC")).to_pylist()
    for name in ("symbol", "open", "high", "low", "close", "volume", "adj_close"):
        assert got.column(name).to_pylist() == want.column(name).to_pylist(), name
    assert "attachment" not in response.headers["content-disposition"]


def test_bars_page_with_a_cursor_and_a_link_header(client: TestClient, token: str) -> None:
    first = client.get(
        "/api/v1/instruments/GOOG/bars?start=2012-01-01&end=2012-01-31&limit=10", headers=bearer(token)
    )
    body = first.json()
    assert len(body["items"]) == 10
    assert body["next_cursor"]
    link = first.headers["link"]
    assert link.endswith('>; rel="next"')
    assert f"cursor={body['next_cursor']}" in link

    second = client.get(link.split(";")[0].strip("<>"), headers=bearer(token)).json()

    assert second["items"][0]["ts"] > body["items"][-1]["ts"]
    assert second["next_cursor"] is None
    assert len(body["items"]) + len(second["items"]) == 20  # trading days in January 2012


def test_the_bar_format_follows_the_accept_header(client: TestClient, token: str) -> None:
    response = client.get(
        "/api/v1/instruments/GOOG/bars?limit=3", headers=bearer(token) | {"Accept": "text/csv"}
    )

    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.text.splitlines()[0] == '"symbol","ts","open","high","low","close","volume","adj_close"'
    assert response.text.splitlines()[1].startswith('"GOOG","2004-08-19T00:00:00Z",100.01,')


def test_an_unknown_symbol_is_a_404_problem_with_suggestions(client: TestClient, token: str) -> None:
    response = client.get("/api/v1/instruments/APPL/bars", headers=bearer(token))

    assert response.status_code == 404
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["type"] == "/api/problems/unknown-symbol"
    assert "AAPL" in problem["suggestions"]


@pytest.mark.parametrize(
    ("query", "status", "kind"),
    [
        ("start=2012-02-01&end=2012-01-01", 422, "validation"),
        ("start=yesterday", 422, "validation"),
        ("timeframe=1H", 422, "validation"),
        ("cursor=not-a-cursor", 400, "invalid-cursor"),
        ("limit=0", 422, "validation"),
    ],
)
def test_bad_bar_queries_are_problems(
    client: TestClient, token: str, query: str, status: int, kind: str
) -> None:
    response = client.get(f"/api/v1/instruments/GOOG/bars?{query}", headers=bearer(token))

    assert response.status_code == status
    assert response.json()["type"] == f"/api/problems/{kind}"


def test_instruments_are_searched_exact_symbol_first(client: TestClient, token: str) -> None:
    items = client.get("/api/v1/instruments?q=ibm", headers=bearer(token)).json()["items"]

    assert items[0]["symbol"] == "IBM"
    assert items[0]["source"]["package"]


def test_instruments_page_through_every_symbol(
    client: TestClient, token: str, market_store: MarketAccess
) -> None:
    seen: list[str] = []
    url: str | None = "/api/v1/instruments?limit=200"
    while url:
        response = client.get(url, headers=bearer(token))
        seen += [item["symbol"] for item in response.json()["items"]]
        url = response.headers["link"].split(";")[0].strip("<>") if "link" in response.headers else None

    everything = market_store.run(lambda con: con.table("instruments").count().execute())
    assert len(seen) == len(set(seen)) == everything
    assert seen == sorted(seen)


def test_one_instrument(client: TestClient, token: str) -> None:
    instrument = client.get("/api/v1/instruments/GOOG", headers=bearer(token)).json()

    assert instrument["name"] == "Google Inc."
    assert instrument["bar_count"] > 2000
