"""The Ibis forms, run on DuckDB, equal the array forms (warm-up NULLs included)."""

from __future__ import annotations

from typing import Any

import ibis
import numpy as np
import pandas as pd
import pytest

import quanta.indicators as qi
from quanta.indicators import ibis_exprs as ie
from tests.indicators.cases import atol_scaled
from tests.indicators.helpers import load_goog

# (name, array inputs, kwargs, output index or None)
IBIS_CASES: list[tuple[str, tuple[str, ...], dict[str, Any], int | None]] = [
    ("SMA", ("close",), {"timeperiod": 20}, None),
    ("SMA", ("close",), {"timeperiod": 1}, None),
    ("WMA", ("close",), {"timeperiod": 10}, None),
    ("SUM", ("close",), {"timeperiod": 7}, None),
    ("MAX", ("close",), {"timeperiod": 7}, None),
    ("MIN", ("close",), {"timeperiod": 7}, None),
    ("MIDPOINT", ("close",), {}, None),
    ("MIDPRICE", ("high", "low"), {"timeperiod": 5}, None),
    ("MOM", ("close",), {"timeperiod": 3}, None),
    ("ROC", ("close",), {}, None),
    ("ROCP", ("close",), {}, None),
    ("ROCR", ("close",), {}, None),
    ("ROCR100", ("close",), {}, None),
    ("VAR", ("close",), {"timeperiod": 5}, None),
    ("STDDEV", ("close",), {"timeperiod": 10, "nbdev": 2.0}, None),
    ("BBANDS", ("close",), {}, 0),
    ("BBANDS", ("close",), {"timeperiod": 5, "nbdevup": 1.0, "nbdevdn": 3.0}, 1),
    ("BBANDS", ("close",), {"timeperiod": 5, "nbdevup": 1.0, "nbdevdn": 3.0}, 2),
    ("TRANGE", ("high", "low", "close"), {}, None),
    ("AVGPRICE", ("open", "high", "low", "close"), {}, None),
    ("MEDPRICE", ("high", "low"), {}, None),
    ("TYPPRICE", ("high", "low", "close"), {}, None),
    ("WCLPRICE", ("high", "low", "close"), {}, None),
    ("AD", ("high", "low", "close", "volume"), {}, None),
]


@pytest.fixture(scope="module")
def duck() -> tuple[ibis.Table, dict[str, np.ndarray]]:
    bars = load_goog()
    frame = pd.DataFrame(bars).assign(ts=np.arange(len(bars["close"])))
    con = ibis.duckdb.connect()
    return con.create_table("bars", frame), bars


def _fetch(table: ibis.Table, expr: Any) -> np.ndarray:
    return table.select(table.ts, out=expr).order_by("ts").to_pandas()["out"].to_numpy(dtype=np.float64)


def _compare(got: np.ndarray, want: np.ndarray, atol: float) -> None:
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, rtol=0, atol=atol)


@pytest.mark.parametrize(("name", "inputs", "kwargs", "output"), IBIS_CASES, ids=str)
def test_ibis_form_equals_array_form_on_duckdb(
    duck: tuple[ibis.Table, dict[str, np.ndarray]],
    name: str,
    inputs: tuple[str, ...],
    kwargs: dict[str, Any],
    output: int | None,
) -> None:
    table, bars = duck
    expr = getattr(ie, name)(table, **kwargs)
    want = getattr(qi, name)(*(bars[i] for i in inputs), **kwargs)
    if output is not None:
        expr, want = expr[output], want[output]
    _compare(_fetch(table, expr), want, atol_scaled(want, []))


def test_obv_ibis_form_adds_a_column_equal_to_the_array_form(
    duck: tuple[ibis.Table, dict[str, np.ndarray]],
) -> None:
    table, bars = duck
    got = ie.OBV(table).order_by("ts").to_pandas()["OBV"].to_numpy(dtype=np.float64)
    _compare(got, qi.OBV(bars["close"], bars["volume"]), 1e-9)


def test_ibis_bbands_rejects_non_sma_matype(duck: tuple[ibis.Table, dict[str, np.ndarray]]) -> None:
    with pytest.raises(NotImplementedError, match="matype"):
        ie.BBANDS(duck[0], matype=1)


def test_every_ibis_builder_has_an_array_twin() -> None:
    assert set(ie.BUILDERS) <= set(qi.available_indicators())
