"""Indicators as Ibis expressions, for the ones a window function can express.

Each builder takes an Ibis table, the names of its input columns and of its ordering column, and
returns a column expression that any Ibis backend can run (DuckDB, Postgres, Spark, Flink…)::

    t = con.table("bars").filter(_.symbol == "GOOG")
    t.select(t.ts, sma=SMA(t, 20), upper=BBANDS(t, 20)[0])

Warm-up rows are NULL (NaN once fetched into pandas), exactly where the array form has NaN.
Inputs are assumed complete: unlike the array form, leading NULLs are not skipped.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
from ibis.expr.builders import LegacyWindowBuilder

ORDER = "ts"


def _frame(t: ir.Table, order_by: str, period: int) -> LegacyWindowBuilder:
    """The trailing ``period``-row frame ending at the current row."""
    return ibis.window(order_by=t[order_by], preceding=period - 1, following=0)


def _after_warmup(t: ir.Table, order_by: str, lookback: int, value: ir.Value) -> ir.FloatingValue:
    """``value`` from row ``lookback`` on, NULL before (rows counted from 0 in ``order_by``)."""
    row = ibis.row_number().over(order_by=t[order_by])
    result: ir.FloatingValue = ibis.ifelse(row >= lookback, value, ibis.null("float64")).cast("float64")
    return result


def _lag(t: ir.Table, column: str, k: int, order_by: str) -> ir.FloatingValue:
    lagged: ir.FloatingValue = t[column].lag(k).over(order_by=t[order_by])
    return lagged


def _check(period: int, name: str = "timeperiod", minimum: int = 2) -> int:
    if isinstance(period, bool) or not isinstance(period, int) or period < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {period!r}")
    return period


# --- windowed aggregates ------------------------------------------------------------------------


def SMA(t: ir.Table, timeperiod: int = 30, *, real: str = "close", order_by: str = ORDER) -> ir.FloatingValue:
    """Simple moving average."""
    p = _check(timeperiod, minimum=1)
    return _after_warmup(t, order_by, p - 1, t[real].mean().over(_frame(t, order_by, p)))


def SUM(t: ir.Table, timeperiod: int = 30, *, real: str = "close", order_by: str = ORDER) -> ir.FloatingValue:
    """Sum over the period."""
    p = _check(timeperiod)
    return _after_warmup(t, order_by, p - 1, t[real].sum().over(_frame(t, order_by, p)))


def MAX(t: ir.Table, timeperiod: int = 30, *, real: str = "close", order_by: str = ORDER) -> ir.FloatingValue:
    """Highest value over the period."""
    p = _check(timeperiod)
    return _after_warmup(t, order_by, p - 1, t[real].max().over(_frame(t, order_by, p)))


def MIN(t: ir.Table, timeperiod: int = 30, *, real: str = "close", order_by: str = ORDER) -> ir.FloatingValue:
    """Lowest value over the period."""
    p = _check(timeperiod)
    return _after_warmup(t, order_by, p - 1, t[real].min().over(_frame(t, order_by, p)))


def WMA(t: ir.Table, timeperiod: int = 30, *, real: str = "close", order_by: str = ORDER) -> ir.FloatingValue:
    """Linearly weighted moving average, as a weighted sum of lags (exact, O(period) terms)."""
    p = _check(timeperiod, minimum=1)
    total: ir.FloatingValue = t[real] * float(p)
    for k in range(1, p):
        total = total + _lag(t, real, k, order_by) * float(p - k)
    return _after_warmup(t, order_by, p - 1, total / (p * (p + 1) / 2.0))


def MIDPOINT(
    t: ir.Table, timeperiod: int = 14, *, real: str = "close", order_by: str = ORDER
) -> ir.FloatingValue:
    """Midpoint of the highest and lowest value over the period."""
    p = _check(timeperiod)
    w = _frame(t, order_by, p)
    return _after_warmup(t, order_by, p - 1, (t[real].max().over(w) + t[real].min().over(w)) / 2.0)


def MIDPRICE(
    t: ir.Table, timeperiod: int = 14, *, high: str = "high", low: str = "low", order_by: str = ORDER
) -> ir.FloatingValue:
    """Midpoint of the highest high and lowest low over the period."""
    p = _check(timeperiod)
    w = _frame(t, order_by, p)
    return _after_warmup(t, order_by, p - 1, (t[high].max().over(w) + t[low].min().over(w)) / 2.0)


def VAR(t: ir.Table, timeperiod: int = 5, *, real: str = "close", order_by: str = ORDER) -> ir.FloatingValue:
    """Population variance over the period."""
    p = _check(timeperiod, minimum=1)
    return _after_warmup(t, order_by, p - 1, t[real].var(how="pop").over(_frame(t, order_by, p)))


def STDDEV(
    t: ir.Table, timeperiod: int = 5, nbdev: float = 1.0, *, real: str = "close", order_by: str = ORDER
) -> ir.FloatingValue:
    """Population standard deviation times ``nbdev``."""
    p = _check(timeperiod)
    std = t[real].std(how="pop").over(_frame(t, order_by, p))
    return _after_warmup(t, order_by, p - 1, std * float(nbdev))


def BBANDS(
    t: ir.Table,
    timeperiod: int = 20,
    nbdevup: float = 2.0,
    nbdevdn: float = 2.0,
    matype: int = 0,
    *,
    real: str = "close",
    order_by: str = ORDER,
) -> tuple[ir.FloatingValue, ir.FloatingValue, ir.FloatingValue]:
    """Bollinger bands (upper, middle, lower) around the SMA; only ``matype=0`` is windowable."""
    if matype != 0:
        raise NotImplementedError("only matype=0 (SMA) has an Ibis form; use the array BBANDS")
    p = _check(timeperiod)
    w = _frame(t, order_by, p)
    middle = t[real].mean().over(w)
    std = t[real].std(how="pop").over(w)
    upper = _after_warmup(t, order_by, p - 1, middle + std * float(nbdevup))
    lower = _after_warmup(t, order_by, p - 1, middle - std * float(nbdevdn))
    return upper, _after_warmup(t, order_by, p - 1, middle), lower


# --- differences against a lag ------------------------------------------------------------------


def _change(t: ir.Table, p: int, real: str, order_by: str, kind: str) -> ir.FloatingValue:
    now, prev = t[real], _lag(t, real, p, order_by)
    zero = prev == 0.0
    values: dict[str, ir.Value] = {
        "mom": now - prev,
        "roc": ibis.ifelse(zero, 0.0, (now / prev - 1.0) * 100.0),
        "rocp": ibis.ifelse(zero, 0.0, (now - prev) / prev),
        "rocr": ibis.ifelse(zero, 0.0, now / prev),
        "rocr100": ibis.ifelse(zero, 0.0, now / prev * 100.0),
    }
    return _after_warmup(t, order_by, p, values[kind])


def MOM(t: ir.Table, timeperiod: int = 10, *, real: str = "close", order_by: str = ORDER) -> ir.FloatingValue:
    """Momentum: ``real - real[timeperiod rows ago]``."""
    return _change(t, _check(timeperiod, minimum=1), real, order_by, "mom")


def ROC(t: ir.Table, timeperiod: int = 10, *, real: str = "close", order_by: str = ORDER) -> ir.FloatingValue:
    """Rate of change in percent."""
    return _change(t, _check(timeperiod, minimum=1), real, order_by, "roc")


def ROCP(
    t: ir.Table, timeperiod: int = 10, *, real: str = "close", order_by: str = ORDER
) -> ir.FloatingValue:
    """Rate of change as a fraction."""
    return _change(t, _check(timeperiod, minimum=1), real, order_by, "rocp")


def ROCR(
    t: ir.Table, timeperiod: int = 10, *, real: str = "close", order_by: str = ORDER
) -> ir.FloatingValue:
    """Rate of change ratio."""
    return _change(t, _check(timeperiod, minimum=1), real, order_by, "rocr")


def ROCR100(
    t: ir.Table, timeperiod: int = 10, *, real: str = "close", order_by: str = ORDER
) -> ir.FloatingValue:
    """Rate of change ratio times 100."""
    return _change(t, _check(timeperiod, minimum=1), real, order_by, "rocr100")


def TRANGE(
    t: ir.Table, *, high: str = "high", low: str = "low", close: str = "close", order_by: str = ORDER
) -> ir.FloatingValue:
    """True range."""
    prev = _lag(t, close, 1, order_by)
    h, lo = t[high], t[low]
    return _after_warmup(t, order_by, 1, ibis.greatest(h - lo, (h - prev).abs(), (lo - prev).abs()))


# --- price transforms -------------------------------------------------------------------------


def AVGPRICE(
    t: ir.Table,
    *,
    open: str = "open",
    high: str = "high",
    low: str = "low",
    close: str = "close",
) -> ir.FloatingValue:
    """Average of open, high, low and close."""
    value: ir.FloatingValue = ((t[open] + t[high] + t[low] + t[close]) / 4.0).cast("float64")
    return value


def MEDPRICE(t: ir.Table, *, high: str = "high", low: str = "low") -> ir.FloatingValue:
    """Median price ``(high + low) / 2``."""
    value: ir.FloatingValue = ((t[high] + t[low]) / 2.0).cast("float64")
    return value


def TYPPRICE(t: ir.Table, *, high: str = "high", low: str = "low", close: str = "close") -> ir.FloatingValue:
    """Typical price ``(high + low + close) / 3``."""
    value: ir.FloatingValue = ((t[high] + t[low] + t[close]) / 3.0).cast("float64")
    return value


def WCLPRICE(t: ir.Table, *, high: str = "high", low: str = "low", close: str = "close") -> ir.FloatingValue:
    """Weighted close ``(high + low + 2 close) / 4``."""
    value: ir.FloatingValue = ((t[high] + t[low] + t[close] * 2.0) / 4.0).cast("float64")
    return value


# --- cumulative ---------------------------------------------------------------------------------


def _running_total(t: ir.Table, value: ir.Value, order_by: str) -> ir.FloatingValue:
    frame = ibis.window(order_by=t[order_by], preceding=None, following=0)
    total: ir.FloatingValue = value.sum().over(frame).cast("float64")  # type: ignore[attr-defined]
    return total


def OBV(
    t: ir.Table, *, real: str = "close", volume: str = "volume", order_by: str = ORDER, name: str = "OBV"
) -> ir.Table:
    """On-balance volume: ``t`` with a column ``name`` added (the first bar counts as up).

    The signed volume needs the previous row (a window) and OBV is its running sum (another
    window); SQL cannot nest windows, so this builder returns the table with the column added.
    """
    prev = _lag(t, real, 1, order_by)
    now, vol = t[real], t[volume]
    step = f"_{name}_step"
    signed = ibis.cases((prev.isnull(), vol), (now > prev, vol), (now < prev, -vol), else_=0.0)
    staged = t.mutate(**{step: signed.cast("float64")})
    total = _running_total(staged, staged[step], order_by)
    return staged.mutate(**{name: total}).drop(step)


def AD(
    t: ir.Table,
    *,
    high: str = "high",
    low: str = "low",
    close: str = "close",
    volume: str = "volume",
    order_by: str = ORDER,
) -> ir.FloatingValue:
    """Chaikin accumulation/distribution line as a running sum of money-flow volume."""
    h, lo, c = t[high], t[low], t[close]
    span = h - lo
    flow = ibis.ifelse(span > 0.0, ((c - lo) - (h - c)) / span * t[volume], 0.0)
    return _running_total(t, flow, order_by)


BUILDERS = {
    f.__name__: f
    for f in (
        AD,
        AVGPRICE,
        BBANDS,
        MAX,
        MEDPRICE,
        MIDPOINT,
        MIDPRICE,
        MIN,
        MOM,
        OBV,
        ROC,
        ROCP,
        ROCR,
        ROCR100,
        SMA,
        STDDEV,
        SUM,
        TRANGE,
        TYPPRICE,
        VAR,
        WCLPRICE,
        WMA,
    )
}
