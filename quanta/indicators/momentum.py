"""Momentum indicators: oscillators, rates of change and the directional movement system."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from quanta.indicators import _directional as dm
from quanta.indicators._core import (
    TOLERANCE,
    Array,
    as_inputs,
    check_period,
    ema_seeded,
    ema_sma_seed,
    guarded_div,
    nan_array,
    nearly_equal,
    on_tail,
    rolling_argext,
    rolling_max,
    rolling_min,
    run,
    run_multi,
    shift,
    true_range,
    zero_or_nan,
)
from quanta.indicators._ma import MA_Type, check_matype, ema_chain, ma, ma_from, ma_lookback
from quanta.indicators._moments import window_sum
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
    return run(lambda a, b: dm.dm_kernel(a, b, p, plus=True), max(p - 1, 1), h, lo)


@_momentum
def MINUS_DM(high: ArrayLike, low: ArrayLike, timeperiod: int = 14) -> Array:
    """Minus directional movement (Wilder's running total)."""
    h, lo = as_inputs(high=high, low=low)
    p = check_period(timeperiod, "timeperiod", 1)
    return run(lambda a, b: dm.dm_kernel(a, b, p, plus=False), max(p - 1, 1), h, lo)


@_momentum
def PLUS_DI(high: ArrayLike, low: ArrayLike, close: ArrayLike, timeperiod: int = 14) -> Array:
    """Plus directional indicator."""
    h, lo, c = _hlc(high, low, close)
    p = check_period(timeperiod, "timeperiod", 1)
    return run(lambda a, b, d: dm.di_kernel(a, b, d, p, plus=True), p, h, lo, c)


@_momentum
def MINUS_DI(high: ArrayLike, low: ArrayLike, close: ArrayLike, timeperiod: int = 14) -> Array:
    """Minus directional indicator."""
    h, lo, c = _hlc(high, low, close)
    p = check_period(timeperiod, "timeperiod", 1)
    return run(lambda a, b, d: dm.di_kernel(a, b, d, p, plus=False), p, h, lo, c)


@_momentum
def DX(high: ArrayLike, low: ArrayLike, close: ArrayLike, timeperiod: int = 14) -> Array:
    """Directional movement index."""
    h, lo, c = _hlc(high, low, close)
    p = check_period(timeperiod, "timeperiod")
    return run(lambda a, b, d: dm.dx_series(a, b, d, p), p, h, lo, c)


@_momentum
def ADX(high: ArrayLike, low: ArrayLike, close: ArrayLike, timeperiod: int = 14) -> Array:
    """Average directional movement index."""
    h, lo, c = _hlc(high, low, close)
    p = check_period(timeperiod, "timeperiod")
    return run(lambda a, b, d: dm.adx_kernel(a, b, d, p), 2 * p - 1, h, lo, c)


@_momentum
def ADXR(high: ArrayLike, low: ArrayLike, close: ArrayLike, timeperiod: int = 14) -> Array:
    """Average directional movement rating: mean of ADX now and ``timeperiod - 1`` bars ago."""
    h, lo, c = _hlc(high, low, close)
    p = check_period(timeperiod, "timeperiod")

    def kernel(a: Array, b: Array, d: Array) -> Array:
        adx = dm.adx_kernel(a, b, d, p)
        return (adx + shift(adx, p - 1)) / 2.0

    return run(kernel, 3 * p - 2, h, lo, c)


# --- oscillators on one series -----------------------------------------------------------------


def _wilder_gain_loss(x: Array, period: int) -> tuple[Array, Array]:
    """Wilder-averaged gains and losses, first defined at bar ``period``."""
    diff = np.diff(x, prepend=np.nan)
    gain = np.where(diff > 0, diff, 0.0)
    loss = np.where(diff < 0, -diff, 0.0)
    k = 1.0 / period
    avg_gain = ema_seeded(gain, k, float(gain[1 : period + 1].sum()) / period, period)
    avg_loss = ema_seeded(loss, k, float(loss[1 : period + 1].sum()) / period, period)
    return avg_gain, avg_loss


def _rsi(x: Array, period: int) -> Array:
    gain, loss = _wilder_gain_loss(x, period)
    total = gain + loss
    return guarded_div(100.0 * gain, total, zero_if=zero_or_nan(total))


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

    def kernel(v: Array) -> Array:
        gain, loss = _wilder_gain_loss(v, p)
        total = gain + loss
        return guarded_div(100.0 * (gain - loss), total, zero_if=zero_or_nan(total))

    return run(kernel, p, x)


Formula = Callable[[Array, Array], Array]


def _per_prev(value: Array, prev: Array) -> Array:
    """``value / prev``, 0 where ``prev`` is 0 (TA-Lib's convention for the ROC family)."""
    return guarded_div(value, prev, zero_if=zero_or_nan(prev))


def _change(real: ArrayLike, timeperiod: int, formula: Formula) -> Array:
    """``formula(now, value timeperiod bars earlier)``."""
    (x,) = as_inputs(real=real)
    p = check_period(timeperiod, "timeperiod", 1)
    return run(lambda v: formula(v, shift(v, p)), p, x)


@_momentum
def MOM(real: ArrayLike, timeperiod: int = 10) -> Array:
    """Momentum: ``real - real[timeperiod bars ago]``."""
    return _change(real, timeperiod, lambda now, prev: now - prev)


@_momentum
def ROC(real: ArrayLike, timeperiod: int = 10) -> Array:
    """Rate of change in percent: ``(real / prev - 1) * 100`` (0 when ``prev`` is 0)."""
    return _change(
        real, timeperiod, lambda now, prev: np.where(prev == 0.0, 0.0, (_per_prev(now, prev) - 1.0) * 100.0)
    )


@_momentum
def ROCP(real: ArrayLike, timeperiod: int = 10) -> Array:
    """Rate of change as a fraction: ``(real - prev) / prev``."""
    return _change(real, timeperiod, lambda now, prev: _per_prev(now - prev, prev))


@_momentum
def ROCR(real: ArrayLike, timeperiod: int = 10) -> Array:
    """Rate of change ratio: ``real / prev``."""
    return _change(real, timeperiod, _per_prev)


@_momentum
def ROCR100(real: ArrayLike, timeperiod: int = 10) -> Array:
    """Rate of change ratio times 100."""
    return _change(real, timeperiod, lambda now, prev: _per_prev(now, prev) * 100.0)


@_momentum
def TRIX(real: ArrayLike, timeperiod: int = 30) -> Array:
    """One-bar rate of change (percent) of a triple EMA."""
    (x,) = as_inputs(real=real)
    p = check_period(timeperiod, "timeperiod", 1)

    def kernel(v: Array) -> Array:
        e3 = ema_chain(v, p, 3)[2]
        prev = shift(e3, 1)
        ratio = guarded_div(e3, prev, zero_if=(prev == 0.0) | np.isnan(prev))
        return np.where(prev == 0.0, 0.0, (ratio - 1.0) * 100.0)

    return run(kernel, 3 * (p - 1) + 1, x)


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

    def kernel(v: Array) -> Array:
        f, s = _oscillator(v, fast, slow, kind)
        return f - s

    return run(kernel, lookback, x)


@_momentum
def PPO(real: ArrayLike, fastperiod: int = 12, slowperiod: int = 26, matype: int = 1) -> Array:
    """Percentage price oscillator: ``100 * (fast - slow) / slow``."""
    (x,) = as_inputs(real=real)
    fast, slow, kind, lookback = _osc_args(fastperiod, slowperiod, matype)

    def kernel(v: Array) -> Array:
        f, s = _oscillator(v, fast, slow, kind)
        return guarded_div((f - s) * 100.0, s, zero_if=zero_or_nan(s))

    return run(kernel, lookback, x)


def _macd_lines(
    fast: Array, slow: Array, *, start: int, signal: int, kind: int
) -> tuple[Array, Array, Array]:
    """MACD line (from bar ``start``), its signal MA and the histogram."""
    line = fast - slow
    sig = on_tail(lambda v: ma(v, signal, kind), line, start)
    return line, sig, line - sig


def _ema_from(x: Array, period: int, start: int, alpha: float | None = None) -> Array:
    """TA-Lib EMA asked for from bar ``start`` (seeded at ``start - period + 1``)."""
    return on_tail(lambda v: ema_sma_seed(v, period, alpha), x, start - period + 1)


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

    def kernel(v: Array) -> tuple[Array, Array, Array]:
        start = slow - 1
        return _macd_lines(
            _ema_from(v, fast, start), _ema_from(v, slow, start), start=start, signal=sig, kind=1
        )

    macd, signal, hist = run_multi(kernel, slow - 1 + sig - 1, 3, x)
    return macd, signal, hist


@indicator(family="momentum", outputs=("macd", "macdsignal", "macdhist"))
def MACDFIX(real: ArrayLike, signalperiod: int = 9) -> tuple[Array, Array, Array]:
    """MACD 12/26 with TA-Lib's fixed smoothing constants 0.15 and 0.075."""
    (x,) = as_inputs(real=real)
    sig = check_period(signalperiod, "signalperiod", 1)

    def kernel(v: Array) -> tuple[Array, Array, Array]:
        fast, slow = _ema_from(v, 12, 25, 0.15), _ema_from(v, 26, 25, 0.075)
        return _macd_lines(fast, slow, start=25, signal=sig, kind=1)

    macd, signal, hist = run_multi(kernel, 25 + sig - 1, 3, x)
    return macd, signal, hist


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

    macd, signal, hist = run_multi(kernel, start + ma_lookback(sig, gkind), 3, x)
    return macd, signal, hist


# --- stochastics -------------------------------------------------------------------------------


def _fast_k(high: Array, low: Array, close: Array, period: int) -> Array:
    highest, lowest = rolling_max(high, period), rolling_min(low, period)
    flat = nearly_equal(highest, lowest) | np.isnan(highest)
    return guarded_div(close - lowest, (highest - lowest) / 100.0, zero_if=flat)


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

    def kernel(a: Array, b: Array, d: Array) -> Array:
        highest, lowest = rolling_max(a, p), rolling_min(b, p)
        flat = nearly_equal(highest, lowest) | np.isnan(highest)
        return guarded_div(highest - d, (highest - lowest) / -100.0, zero_if=flat)

    return run(kernel, p - 1, h, lo, c)


# --- other momentum ----------------------------------------------------------------------------


def _aroon(high: Array, low: Array, period: int) -> tuple[Array, Array]:
    down, up = nan_array(len(high)), nan_array(len(high))
    factor = 100.0 / period
    today = np.arange(period, len(high))
    hi = rolling_argext(high, period + 1, highest=True)
    lo = rolling_argext(low, period + 1, highest=False)
    up[period:] = factor * (period - (today - hi))
    down[period:] = factor * (period - (today - lo))
    return down, up


@indicator(family="momentum", outputs=("aroondown", "aroonup"))
def AROON(high: ArrayLike, low: ArrayLike, timeperiod: int = 14) -> tuple[Array, Array]:
    """Aroon down and up: how recent the lowest low / highest high is, in percent."""
    h, lo = as_inputs(high=high, low=low)
    p = check_period(timeperiod, "timeperiod")
    down, up = run_multi(lambda a, b: _aroon(a, b, p), p, 2, h, lo)
    return down, up


@_momentum
def AROONOSC(high: ArrayLike, low: ArrayLike, timeperiod: int = 14) -> Array:
    """Aroon oscillator: Aroon up minus Aroon down."""
    h, lo = as_inputs(high=high, low=low)
    p = check_period(timeperiod, "timeperiod")

    def kernel(a: Array, b: Array) -> Array:
        out = nan_array(len(a))
        hi = rolling_argext(a, p + 1, highest=True)
        low_idx = rolling_argext(b, p + 1, highest=False)
        out[p:] = (100.0 / p) * (hi - low_idx)
        return out

    return run(kernel, p, h, lo)


@_momentum
def BOP(open: ArrayLike, high: ArrayLike, low: ArrayLike, close: ArrayLike) -> Array:
    """Balance of power: ``(close - open) / (high - low)``."""
    o, h, lo, c = as_inputs(open=open, high=high, low=low, close=close)

    def kernel(a: Array, b: Array, d: Array, e: Array) -> Array:
        return guarded_div(e - a, b - d, zero_if=nearly_equal(b, d))

    return run(kernel, 0, o, h, lo, c)


@_momentum
def CCI(high: ArrayLike, low: ArrayLike, close: ArrayLike, timeperiod: int = 14) -> Array:
    """Commodity channel index: typical price's distance from its mean over 0.015 × mean deviation."""
    h, lo, c = _hlc(high, low, close)
    p = check_period(timeperiod, "timeperiod")
    return run(lambda a, b, d: _cci((a + b + d) / 3.0, p), p - 1, h, lo, c)


def _cci(tp: Array, period: int, chunk: int = 1 << 16) -> Array:
    out = nan_array(len(tp))
    windows = np.lib.stride_tricks.sliding_window_view(tp, period)
    for s in range(0, len(windows), chunk):
        w = windows[s : s + chunk]
        mean = w.sum(axis=1) / period
        dev = np.abs(w - mean[:, None]).sum(axis=1) / period
        dist = w[:, -1] - mean
        zero = (dev <= TOLERANCE * np.abs(mean)) | (dist == 0.0)  # flat window
        out[period - 1 + s : period - 1 + s + len(w)] = guarded_div(dist, 0.015 * dev, zero_if=zero)
    return out


@_momentum
def MFI(high: ArrayLike, low: ArrayLike, close: ArrayLike, volume: ArrayLike, timeperiod: int = 14) -> Array:
    """Money flow index: RSI-like ratio of up-bar to total money flow (typical price × volume)."""
    h, lo, c, v = as_inputs(high=high, low=low, close=close, volume=volume)
    p = check_period(timeperiod, "timeperiod")

    def kernel(a: Array, b: Array, d: Array, e: Array) -> Array:
        tp = (a + b + d) / 3.0
        flow = tp * e
        prev = shift(tp, 1)
        moved = ~nearly_equal(tp, prev)
        pos = window_sum(np.where(moved & (tp > prev), flow, 0.0)[1:], p)
        neg = window_sum(np.where(moved & (tp < prev), flow, 0.0)[1:], p)
        total = pos + neg
        out = guarded_div(100.0 * pos, total, zero_if=zero_or_nan(total))
        return np.concatenate(([np.nan], out))

    return run(kernel, p, h, lo, c, v)


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

    def kernel(a: Array, b: Array, d: Array) -> Array:
        prev = shift(d, 1)
        true_low = np.minimum(b, prev)
        pressure = (d - true_low)[1:]
        rng = true_range(a, b, d)[1:]
        total = np.zeros(len(a) - 1)
        for weight, period in zip((4.0, 2.0, 1.0), periods, strict=True):
            bp, tr = window_sum(pressure, period), window_sum(rng, period)
            total += weight * guarded_div(bp, tr, zero_if=zero_or_nan(tr))
        return np.concatenate(([np.nan], 100.0 * total / 7.0))

    return run(kernel, periods[-1], h, lo, c)
