"""Property tests on random valid OHLCV bars: parity with TA-Lib, shape, and no look-ahead."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import talib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import quanta.indicators as qi
from tests.indicators.cases import Case, variant_id, variant_params
from tests.indicators.helpers import assert_same, input_map, ohlcv

FAST = settings(
    max_examples=12, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


def _call(module: Any, case: Case, bars: dict[str, np.ndarray], kwargs: dict[str, Any]) -> Any:
    return getattr(module, case.name)(*(bars[name] for name in case.inputs), **kwargs)


@pytest.mark.parametrize(("case", "kwargs"), variant_params(), ids=variant_id)
@FAST
@given(bars=ohlcv())
def test_indicator_matches_talib_on_random_bars(
    case: Case, kwargs: dict[str, Any], bars: dict[str, np.ndarray]
) -> None:
    args = [bars[name] for name in case.inputs]
    ours = getattr(qi, case.name)(*args, **kwargs)
    ref = getattr(talib, case.name)(*args, **kwargs)
    first = ref[0] if isinstance(ref, tuple) else ref
    assert_same(ours, ref, case.atol(np.asarray(first), args), case.name)


@pytest.mark.parametrize(("case", "kwargs"), variant_params(), ids=variant_id)
@settings(max_examples=5, deadline=None, derandomize=True)
@given(bars=ohlcv(max_len=120), cut=st.integers(1, 40))
def test_changing_future_bars_never_changes_past_values(
    case: Case, kwargs: dict[str, Any], bars: dict[str, np.ndarray], cut: int
) -> None:
    n = len(bars["close"])
    keep = max(n - cut, 0)
    changed = {k: v.copy() for k, v in bars.items()}
    for key in ("open", "high", "low", "close", "volume"):
        changed[key][keep:] *= 1.5
    changed = input_map({k: changed[k] for k in ("open", "high", "low", "close", "volume")})
    before = _call(qi, case, bars, kwargs)
    after = _call(qi, case, changed, kwargs)
    for a, b in zip(
        before if isinstance(before, tuple) else (before,),
        after if isinstance(after, tuple) else (after,),
        strict=True,
    ):
        np.testing.assert_array_equal(a[:keep], b[:keep])
