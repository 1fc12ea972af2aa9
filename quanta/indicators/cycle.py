"""Cycle indicators from Ehlers' Hilbert-transform discriminator."""

from __future__ import annotations

from numpy.typing import ArrayLike

from quanta.indicators._core import Array, as_inputs, run, run_multi
from quanta.indicators._hilbert import DCPERIOD, PHASOR, hilbert
from quanta.indicators._registry import indicator

LOOKBACK = 32


@indicator(family="cycle")
def HT_DCPERIOD(real: ArrayLike) -> Array:
    """Dominant cycle period, in bars (smoothed)."""
    (x,) = as_inputs(real=real)
    return run(lambda v: hilbert(v, DCPERIOD, 0.0, 0.0)[0], LOOKBACK, x)


@indicator(family="cycle", outputs=("inphase", "quadrature"))
def HT_PHASOR(real: ArrayLike) -> tuple[Array, Array]:
    """Phasor components: the in-phase (I1) and quadrature (Q1) parts of the detrended price."""
    (x,) = as_inputs(real=real)
    inphase, quadrature = run_multi(lambda v: hilbert(v, PHASOR, 0.0, 0.0), LOOKBACK, 2, x)
    return inphase, quadrature
