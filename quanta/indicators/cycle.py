"""Cycle indicators from Ehlers' Hilbert-transform discriminator."""

from __future__ import annotations

from numpy.typing import ArrayLike

from quanta.indicators._core import Array, as_inputs, run, run_multi
from quanta.indicators._hilbert import MAMA_START, hilbert
from quanta.indicators._registry import indicator

LOOKBACK = 32


@indicator(family="cycle")
def HT_DCPERIOD(real: ArrayLike) -> Array:
    """Dominant cycle period, in bars (smoothed)."""
    (x,) = as_inputs(real=real)
    return run(lambda v: hilbert(v, MAMA_START).smooth_period, LOOKBACK, x)


@indicator(family="cycle", outputs=("inphase", "quadrature"))
def HT_PHASOR(real: ArrayLike) -> tuple[Array, Array]:
    """Phasor components: the in-phase (I1) and quadrature (Q1) parts of the detrended price."""
    (x,) = as_inputs(real=real)

    def kernel(v: Array) -> tuple[Array, Array]:
        state = hilbert(v, MAMA_START)
        return state.inphase.copy(), state.quadrature.copy()

    inphase, quadrature = run_multi(kernel, LOOKBACK, 2, x)
    return inphase, quadrature
