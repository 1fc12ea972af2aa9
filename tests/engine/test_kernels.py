"""The compiled loops of the vectorised path and the statistics: numpy's bits, and a warm-up that
reaches every kernel."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from quanta import warmup
from quanta.engine._vector import Ledger
from quanta.stats import _compute, _kernels


@pytest.mark.parametrize("sizes", [range(0, 300), [1000, 2147, 8191, 8193, 100_003]], ids=["short", "long"])
def test_pairwise_sum_gives_numpys_sum_to_the_bit(sizes: list[int]) -> None:
    rng = np.random.default_rng(0)
    for n in sizes:
        x = rng.normal(0.0, 1.0, n) * 10.0 ** rng.integers(-6, 7)
        assert _kernels.pairwise_sum(x, 0, n) == x.sum(), n


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 30_000), k=st.integers(0, 50), seed=st.integers(0, 2**32 - 1))
def test_a_sum_numpy_casts_is_taken_in_its_buffers(n: int, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    positions = np.sort(rng.choice(n, min(k, n), replace=False))
    durations = rng.integers(10**15, 10**17, positions.size)
    full = np.zeros(n, dtype=np.int64)
    full[positions] = durations
    expected = full.sum(dtype=np.float64) / durations.size if durations.size else np.nan
    np.testing.assert_equal(_compute._mean_full(durations, positions, n), expected)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=200),
    trades=st.integers(1, 40),
    seed=st.integers(0, 2**32 - 1),
)
def test_trade_figures_equal_the_numpy_expressions(values: list[float], trades: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    pl = np.asarray(values)
    returns = rng.normal(0.0, 0.05, len(values))
    wins, best, worst, gains, losses, mean_r, var_pl, mean_pl, win, loss = _kernels.trade_figures(pl, returns)
    assert wins == np.count_nonzero(pl > 0)
    assert (best, worst) == (returns.max(), returns.min())
    assert (gains, losses) == (returns[returns > 0].sum(), returns[returns < 0].sum())
    assert mean_r == returns.sum() / len(returns)
    expected_var = ((pl.sum() / len(pl) - pl) ** 2).sum() / (len(pl) - 1) if len(pl) > 1 else np.nan
    np.testing.assert_equal(var_pl, expected_var)
    assert mean_pl == pl.sum() / len(pl)
    np.testing.assert_equal(win, pl[pl > 0].sum() / (pl > 0).sum() if (pl > 0).any() else np.nan)
    np.testing.assert_equal(loss, pl[pl < 0].sum() / (pl < 0).sum() if (pl < 0).any() else np.nan)


@settings(max_examples=80, deadline=None)
@given(
    values=st.lists(st.sampled_from([0.0, 1.0, 2.5, 100.0, -3.0, np.nan, np.inf]), min_size=1, max_size=40),
    seed=st.integers(0, 2**32 - 1),
)
def test_deepest_drawdown_is_the_largest_drawdown_numpy_would_report(values: list[float], seed: int) -> None:
    rng = np.random.default_rng(seed)
    equity = np.asarray(values) + rng.normal(0.0, 1.0, len(values)) * rng.integers(0, 2)
    np.testing.assert_equal(_kernels.deepest_drawdown(equity), _kernels.drawdowns_of(equity)[0].max())


def test_equity_curve_holds_each_state_until_the_next_one() -> None:
    close = np.array([[10.0, 11.0, 12.0, 13.0, 14.0, 15.0]])
    ledger = Ledger(
        bars=np.array([1, 3, 3, 5]),
        balance=np.array([900.0, 950.0, 960.0, 1000.0]),
        pos=np.array([10.0, 0.0, 5.0, 0.0]),
        cost=np.array([100.0, 0.0, 65.0, 0.0]),
        cash=1000.0,
        close=close,
    )
    np.testing.assert_array_equal(
        ledger.equity(), [1000.0, 900 + 110 - 100, 900 + 120 - 100, 960 + 65 - 65, 960 + 70 - 65, 1000.0]
    )


def test_warm_up_reaches_every_kernel() -> None:
    assert warmup.main(["--quiet"]) == 0
    assert not warmup.uncompiled()
