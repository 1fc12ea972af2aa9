"""Momentum indicators: oscillators, rates of change and the directional movement system."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from quanta.indicators import _directional as dm
from quanta.indicators import _oscillators as osc
from quanta.indicators._core import (
    Array,
    as_inputs,
    check_period,
    nan_array,
    on_tail,
    run,
    run_multi,
)
from quanta.indicators._extremes import STOCHASTIC, WILLIAMS, aroon, aroon_oscillator, window_range
from quanta.indicators._ma import MA_Type, check_matype, ema_of_ema, ma, ma_from, ma_lookback, macd
from quanta.indicators._registry import indicator

_momentum = indicator(family="momentum")


# --- directional movement ----------------------------------------------------------------------


def _hlc(high: ArrayLike, low: ArrayLike, close: ArrayLike) -> list[Array]:
    return as_inputs(high=high, low=low, close=close)


@_momentum
def PLUS_DM(high: ArrayLike, low: ArrayLike, timeperiod: int = 14) -> Array:
    """Plus directional movement (Wilder's running total)."""
    h, lo = as_inputs(high=high, low=low)
    p = check_period(timeperiod, "timeperiod", 1)
    return run(lambda a, b: dm.dm_kernel(a, b, p, True), max(p - 1, 1), h, lo)


@_momentum
def MINUS_DM(high: ArrayLike, low: ArrayLike, timeperiod: int = 14) -> Array:
    """Minus directional movement (Wilder's running total)."""
    h, lo = as_inputs(high=high, low=low)
    p = check_period(timeperiod, "timeperiod", 1)
    return run(lambda a, b: dm.dm_kernel(a, b, p, False), max(p - 1, 1), h, lo)


@_momentum
def PLUS_DI(high: ArrayLike, low: ArrayLike, close: ArrayLike, timeperiod: int = 14) -> Array:
    """Plus directional indicator."""
    h, lo, c = _hlc(high, low, close)
    p = check_period(timeperiod, "timeperiod", 1)
    return run(lambda a, b, d: dm.di_kernel(a, b, d, p, True), p, h, lo, c)


@_momentum
def MINUS_DI(high: ArrayLike, low: ArrayLike, close: ArrayLike, timeperiod: int = 14) -> Array:
    """Minus directional indicator."""
    h, lo, c = _hlc(high, low, close)
    p = check_period(timeperiod, "timeperiod", 1)
    return run(lambda a, b, d: dm.di_kernel(a, b, d, p, False), p, h, lo, c)


@_momentum
def DX(high: ArrayLike, low: ArrayLike, close: ArrayLike, timeperiod: int = 14) -> Array:
    """Directional movement index."""
    h, lo, c = _hlc(high, low, close)
    p = check_period(timeperiod, "timeperiod")
    return run(lambda a, b, d: dm.directional_index(a, b, d, p, dm.DX), p, h, lo, c)


@_momentum
def ADX(high: ArrayLike, low: ArrayLike, close: ArrayLike, timeperiod: int = 14) -> Array:
    """Average directional movement index."""
    h, lo, c = _hlc(high, low, close)
    p = check_period(timeperiod, "timeperiod")
    return run(lambda a, b, d: dm.directional_index(a, b, d, p, dm.ADX), 2 * p - 1, h, lo, c)


@_momentum
def ADXR(high: ArrayLike, low: ArrayLike, close: ArrayLike, timeperiod: int = 14) -> Array:
    """Average directional movement rating: mean of ADX now and ``timeperiod - 1`` bars ago."""
    h, lo, c = _hlc(high, low, close)
    p = check_period(timeperiod, "timeperiod")
    return run(lambda a, b, d: dm.directional_index(a, b, d, p, dm.ADXR), 3 * p - 2, h, lo, c)


# --- oscillators on one series -----------------------------------------------------------------


def _rsi(x: Array, period: int) -> Array:
    return osc.wilder_rsi(x, period, False)


@_momentum
def RSI(real: ArrayLike, timeperiod: int = 14) -> Array:
    """Relative strength index (Wilder smoothing, seeded with simple averages)."""
    (x,) = as_inputs(real=real)
    p = check_period(timeperiod, "timeperiod")
    return run(lambda v: _rsi(v, p), p, x)


@_momentum
def CMO(real: ArrayLike, timeperiod: int = 14) -> Array:
    """Chande momentum oscillator (with RSI's Wilder smoothing, as TA-Lib does)."""
    (x,) = as_inputs(real=real)
    p = check_period(timeperiod, "timeperiod")
    return run(lambda v: osc.wilder_rsi(v, p, True), p, x)


def _change(real: ArrayLike, timeperiod: int, formula: int) -> Array:
    """``formula`` of the value now and ``timeperiod`` bars earlier (see ``_oscillators.change``)."""
    (x,) = as_inputs(real=real)
    p = check_period(timeperiod, "timeperiod", 1)
    return run(lambda v: osc.change(v, p, formula), p, x)


@_momentum
def MOM(real: ArrayLike, timeperiod: int = 10) -> Array:
    """Momentum: ``real - real[timeperiod bars ago]``."""
    return _change(real, timeperiod, osc.MOM)


@_momentum
def ROC(real: ArrayLike, timeperiod: int = 10) -> Array:
    """Rate of change in percent: ``(real / prev - 1) * 100`` (0 when ``prev`` is 0)."""
    return _change(real, timeperiod, osc.ROC)


@_momentum
def ROCP(real: ArrayLike, timeperiod: int = 10) -> Array:
    """Rate of change as a fraction: ``(real - prev) / prev``."""
    return _change(real, timeperiod, osc.ROCP)


@_momentum
def ROCR(real: ArrayLike, timeperiod: int = 10) -> Array:
    """Rate of change ratio: ``real / prev``."""
    return _change(real, timeperiod, osc.ROCR)


@_momentum
def ROCR100(real: ArrayLike, timeperiod: int = 10) -> Array:
    """Rate of change ratio times 100."""
    return _change(real, timeperiod, osc.ROCR100)


@_momentum
def TRIX(real: ArrayLike, timeperiod: int = 30) -> Array:
    """One-bar rate of change (percent) of a triple EMA."""
    (x,) = as_inputs(real=real)
    p = check_period(timeperiod, "timeperiod", 1)
    return run(lambda v: osc.one_bar_roc(ema_of_ema(v, p, 3)), 3 * (p - 1) + 1, x)


# --- price oscillators -------------------------------------------------------------------------


def _oscillator(x: Array, fast: int, slow: int, kind: int) -> tuple[Array, Array]:
    """Fast and slow MAs of APO/PPO, both computed from the first bar."""
    return ma(x, min(fast, slow), kind), ma(x, max(fast, slow), kind)


def _osc_args(fastperiod: int, slowperiod: int, matype: int) -> tuple[int, int, MA_Type, int]:
    fast = check_period(fastperiod, "fastperiod")
    slow = check_period(slowperiod, "slowperiod")
    kind = check_matype(matype)
    return fast, slow, kind, ma_lookback(max(fast, slow), kind)


@_momentum
def APO(real: ArrayLike, fastperiod: int = 12, slowperiod: int = 26, matype: int = 1) -> Array:
    """Absolute price oscillator: fast MA minus slow MA."""
    (x,) = as_inputs(real=real)
    fast, slow, kind, lookback = _osc_args(fastperiod, slowperiod, matype)
    return run(lambda v: osc.price_oscillator(*_oscillator(v, fast, slow, kind), False), lookback, x)


@_momentum
def PPO(real: ArrayLike, fastperiod: int = 12, slowperiod: int = 26, matype: int = 1) -> Array:
    """Percentage price oscillator: ``100 * (fast - slow) / slow``."""
    (x,) = as_inputs(real=real)
    fast, slow, kind, lookback = _osc_args(fastperiod, slowperiod, matype)
    return run(lambda v: osc.price_oscillator(*_oscillator(v, fast, slow, kind), True), lookback, x)


def _macd_lines(
    fast: Array, slow: Array, *, start: int, signal: int, kind: int
) -> tuple[Array, Array, Array]:
    """MACD line (from bar ``start``), its signal MA and the histogram."""
    line = fast - slow
    sig = on_tail(lambda v: ma(v, signal, kind), line, start)
    return line, sig, line - sig


@indicator(family="momentum", outputs=("macd", "macdsignal", "macdhist"))
def MACD(
    real: ArrayLike, fastperiod: int = 12, slowperiod: int = 26, signalperiod: int = 9
) -> tuple[Array, Array, Array]:
    """Moving average convergence/divergence with EMAs: line, signal and histogram."""
    (x,) = as_inputs(real=real)
    fast = check_period(fastperiod, "fastperiod")
    slow = check_period(slowperiod, "slowperiod")
    sig = check_period(signalperiod, "signalperiod", 1)
    fast, slow = min(fast, slow), max(fast, slow)
    k_fast, k_slow = 2.0 / (fast + 1), 2.0 / (slow + 1)
    line, signal, hist = run_multi(
        lambda v: macd(v, fast, k_fast, slow, k_slow, sig), slow - 1 + sig - 1, 3, x
    )
    return line, signal, hist


@indicator(family="momentum", outputs=("macd", "macdsignal", "macdhist"))
def MACDFIX(real: ArrayLike, signalperiod: int = 9) -> tuple[Array, Array, Array]:
    """MACD 12/26 with TA-Lib's fixed smoothing constants 0.15 and 0.075."""
    (x,) = as_inputs(real=real)
    sig = check_period(signalperiod, "signalperiod", 1)
    line, signal, hist = run_multi(lambda v: macd(v, 12, 0.15, 26, 0.075, sig), 25 + sig - 1, 3, x)
    return line, signal, hist


@indicator(family="momentum", outputs=("macd", "macdsignal", "macdhist"))
def MACDEXT(  # noqa: PLR0917 - TA-Lib's positional signature
    real: ArrayLike,
    fastperiod: int = 12,
    fastmatype: int = 0,
    slowperiod: int = 26,
    slowmatype: int = 0,
    signalperiod: int = 9,
    signalmatype: int = 0,
) -> tuple[Array, Array, Array]:
    """MACD with a selectable moving-average type for each line."""
    (x,) = as_inputs(real=real)
    fast = check_period(fastperiod, "fastperiod")
    slow = check_period(slowperiod, "slowperiod")
    sig = check_period(signalperiod, "signalperiod", 1)
    fkind, skind = check_matype(fastmatype, "fastmatype"), check_matype(slowmatype, "slowmatype")
    gkind = check_matype(signalmatype, "signalmatype")
    if slow < fast:
        fast, slow, fkind, skind = slow, fast, skind, fkind
    start = max(ma_lookback(fast, fkind), ma_lookback(slow, skind))

    def kernel(v: Array) -> tuple[Array, Array, Array]:
        f, s = ma_from(v, fast, fkind, start), ma_from(v, slow, skind, start)
        return _macd_lines(f, s, start=start, signal=sig, kind=gkind)

    line, signal, hist = run_multi(kernel, start + ma_lookback(sig, gkind), 3, x)
    return line, signal, hist


# --- stochastics -------------------------------------------------------------------------------


def _fast_k(high: Array, low: Array, close: Array, period: int) -> Array:
    return window_range(high, low, close, period, STOCHASTIC)


@indicator(family="momentum", outputs=("slowk", "slowd"))
def STOCH(  # noqa: PLR0917 - TA-Lib's positional signature
    high: ArrayLike,
    low: ArrayLike,
    close: ArrayLike,
    fastk_period: int = 5,
    slowk_period: int = 3,
    slowk_matype: int = 0,
    slowd_period: int = 3,
    slowd_matype: int = 0,
) -> tuple[Array, Array]:
    """Slow stochastic oscillator: %K smoothed (slow %K) and smoothed again (slow %D)."""
    h, lo, c = _hlc(high, low, close)
    fk = check_period(fastk_period, "fastk_period", 1)
    sk = check_period(slowk_period, "slowk_period", 1)
    sd = check_period(slowd_period, "slowd_period", 1)
    kk, dk = check_matype(slowk_matype, "slowk_matype"), check_matype(slowd_matype, "slowd_matype")
    k_start = fk - 1 + ma_lookback(sk, kk)

    def kernel(a: Array, b: Array, d: Array) -> tuple[Array, Array]:
        slow_k = on_tail(lambda v: ma(v, sk, kk), _fast_k(a, b, d, fk), fk - 1)
        return slow_k, on_tail(lambda v: ma(v, sd, dk), slow_k, k_start)

    slowk, slowd = run_multi(kernel, k_start + ma_lookback(sd, dk), 2, h, lo, c)
    return slowk, slowd


def _stochf(x: tuple[Array, Array, Array], fk: int, fd: int, kind: int) -> tuple[Array, Array]:
    fast_k = _fast_k(*x, fk)
    return fast_k, on_tail(lambda v: ma(v, fd, kind), fast_k, fk - 1)


@indicator(family="momentum", outputs=("fastk", "fastd"))
def STOCHF(  # noqa: PLR0917 - TA-Lib's positional signature
    high: ArrayLike,
    low: ArrayLike,
    close: ArrayLike,
    fastk_period: int = 5,
    fastd_period: int = 3,
    fastd_matype: int = 0,
) -> tuple[Array, Array]:
    """Fast stochastic oscillator: %K and its moving average %D."""
    h, lo, c = _hlc(high, low, close)
    fk = check_period(fastk_period, "fastk_period", 1)
    fd = check_period(fastd_period, "fastd_period", 1)
    kind = check_matype(fastd_matype, "fastd_matype")
    lookback = fk - 1 + ma_lookback(fd, kind)
    fastk, fastd = run_multi(lambda a, b, d: _stochf((a, b, d), fk, fd, kind), lookback, 2, h, lo, c)
    return fastk, fastd


@indicator(family="momentum", outputs=("fastk", "fastd"))
def STOCHRSI(
    real: ArrayLike,
    timeperiod: int = 14,
    fastk_period: int = 5,
    fastd_period: int = 3,
    fastd_matype: int = 0,
) -> tuple[Array, Array]:
    """Fast stochastic of the RSI."""
    (x,) = as_inputs(real=real)
    p = check_period(timeperiod, "timeperiod")
    fk = check_period(fastk_period, "fastk_period", 1)
    fd = check_period(fastd_period, "fastd_period", 1)
    kind = check_matype(fastd_matype, "fastd_matype")

    def kernel(v: Array) -> tuple[Array, Array]:
        rsi = _rsi(v, p)[p:]
        k, d = _stochf((rsi, rsi, rsi), fk, fd, kind)
        return np.concatenate((nan_array(p), k)), np.concatenate((nan_array(p), d))

    fastk, fastd = run_multi(kernel, p + fk - 1 + ma_lookback(fd, kind), 2, x)
    return fastk, fastd


@_momentum
def WILLR(high: ArrayLike, low: ArrayLike, close: ArrayLike, timeperiod: int = 14) -> Array:
    """Williams' %R (between -100 and 0)."""
    h, lo, c = _hlc(high, low, close)
    p = check_period(timeperiod, "timeperiod")
    return run(lambda a, b, d: window_range(a, b, d, p, WILLIAMS), p - 1, h, lo, c)


# --- other momentum ----------------------------------------------------------------------------


@indicator(family="momentum", outputs=("aroondown", "aroonup"))
def AROON(high: ArrayLike, low: ArrayLike, timeperiod: int = 14) -> tuple[Array, Array]:
    """Aroon down and up: how recent the lowest low / highest high is, in percent."""
    h, lo = as_inputs(high=high, low=low)
    p = check_period(timeperiod, "timeperiod")
    down, up = run_multi(lambda a, b: aroon(a, b, p), p, 2, h, lo)
    return down, up


@_momentum
def AROONOSC(high: ArrayLike, low: ArrayLike, timeperiod: int = 14) -> Array:
    """Aroon oscillator: Aroon up minus Aroon down."""
    h, lo = as_inputs(high=high, low=low)
    p = check_period(timeperiod, "timeperiod")
    return run(lambda a, b: aroon_oscillator(a, b, p), p, h, lo)


@_momentum
def BOP(open: ArrayLike, high: ArrayLike, low: ArrayLike, close: ArrayLike) -> Array:
    """Balance of power: ``(close - open) / (high - low)``."""
    o, h, lo, c = as_inputs(open=open, high=high, low=low, close=close)
    return run(osc.balance_of_power, 0, o, h, lo, c)


@_momentum
def CCI(high: ArrayLike, low: ArrayLike, close: ArrayLike, timeperiod: int = 14) -> Array:
    """Commodity channel index: typical price's distance from its mean over 0.015 × mean deviation."""
    h, lo, c = _hlc(high, low, close)
    p = check_period(timeperiod, "timeperiod")
    return run(lambda a, b, d: osc.cci(a, b, d, p), p - 1, h, lo, c)


@_momentum
def MFI(high: ArrayLike, low: ArrayLike, close: ArrayLike, volume: ArrayLike, timeperiod: int = 14) -> Array:
    """Money flow index: RSI-like ratio of up-bar to total money flow (typical price × volume)."""
    h, lo, c, v = as_inputs(high=high, low=low, close=close, volume=volume)
    p = check_period(timeperiod, "timeperiod")
    return run(lambda a, b, d, e: osc.mfi(a, b, d, e, p), p, h, lo, c, v)


@_momentum
def ULTOSC(  # noqa: PLR0917 - TA-Lib's positional signature
    high: ArrayLike,
    low: ArrayLike,
    close: ArrayLike,
    timeperiod1: int = 7,
    timeperiod2: int = 14,
    timeperiod3: int = 28,
) -> Array:
    """Ultimate oscillator: buying pressure over true range on three horizons, weighted 4:2:1."""
    h, lo, c = _hlc(high, low, close)
    periods = sorted(
        check_period(t, name, 1)
        for t, name in (
            (timeperiod1, "timeperiod1"),
            (timeperiod2, "timeperiod2"),
            (timeperiod3, "timeperiod3"),
        )
    )
    short, medium, long = periods
    return run(lambda a, b, d: dm.ultimate_oscillator(a, b, d, short, medium, long), long, h, lo, c)
