"""Every mirrored indicator equals TA-Lib on GOOG daily bars, warm-up NaNs included."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import talib

import quanta.indicators as qi
from tests.indicators.cases import Case, variant_id, variant_params
from tests.indicators.helpers import assert_same


@pytest.mark.parametrize(("case", "kwargs"), variant_params(), ids=variant_id)
def test_indicator_matches_talib_on_goog(
    case: Case, kwargs: dict[str, Any], goog: dict[str, np.ndarray]
) -> None:
    args = [goog[name] for name in case.inputs]
    ours = getattr(qi, case.name)(*args, **kwargs)
    ref = getattr(talib, case.name)(*args, **kwargs)
    first = ref[0] if isinstance(ref, tuple) else ref
    assert_same(ours, ref, case.atol(np.asarray(first), args), case.name)


@pytest.mark.parametrize(("case", "kwargs"), variant_params(), ids=variant_id)
def test_leading_nans_shift_the_warm_up_like_talib(
    case: Case, kwargs: dict[str, Any], goog: dict[str, np.ndarray]
) -> None:
    args = [goog[name][:300].copy() for name in case.inputs]
    args[0][:7] = np.nan
    ours = getattr(qi, case.name)(*args, **kwargs)
    ref = getattr(talib, case.name)(*args, **kwargs)
    first = ref[0] if isinstance(ref, tuple) else ref
    assert_same(ours, ref, case.atol(np.asarray(first), args), case.name)


def test_cases_cover_at_least_sixty_functions() -> None:
    names = {case.name for case, _ in variant_params()}
    assert len(names) >= 60
    assert names <= set(qi.available_indicators())
