"""TA-Lib-compatible technical indicators, compiled with numba.

Switch from TA-Lib by changing one import: ``from quanta.indicators import SMA, RSI, MACD``.
Names, argument names, argument order, defaults and warm-up NaNs follow TA-Lib 0.8 (C 0.8.1),
including its newer defaults: ``BBANDS(timeperiod=20)`` and ``APO``/``PPO`` with ``matype=1``.
``matype`` takes 0–8 (:class:`MA_Type`: SMA, EMA, WMA, DEMA, TEMA, TRIMA, KAMA, MAMA, T3).

Each indicator is one or a few single-pass loops (``quanta._jit`` kernels, compiled without
``fastmath``) that keep TA-Lib's order of operations where the result depends on it; running
window totals are recomputed from their window every few hundred bars so they do not drift on long
series. Importing this package does not import numba: the first call does, and loads the machine
code from numba's on-disk cache, which ``python -m quanta.warmup`` fills at install time.

Inputs may be numpy arrays, pandas Series or lists (converted to float64); outputs are float64
ndarrays (a Series' index is not carried over), except candlestick patterns, which return int32
arrays of -100/-80/0/80/100 like TA-Lib. Leading NaNs are skipped as TA-Lib's
wrapper does: the warm-up starts at the first bar where every input is valid. An interior NaN
turns NaN every output whose window or recursive memory contains it (SMA's running sum and the
EMAs: all later bars, as in TA-Lib; totals recomputed from their window: up to a few hundred bars
more); values after it are not guaranteed to match TA-Lib.

Every indicator is listed in a registry with its metadata (see :func:`available_indicators`,
:func:`get_indicator`); register your own with :func:`register_indicator` or ``@indicator``.
"""

from quanta.indicators._ma import MA_Type
from quanta.indicators._registry import (
    IndicatorSpec,
    available_indicators,
    get_indicator,
    indicator,
    indicator_families,
    register_indicator,
    unregister_indicator,
)
from quanta.indicators.cycle import HT_DCPERIOD, HT_PHASOR
from quanta.indicators.math_operators import MAX, MIN, MINMAX, SUM
from quanta.indicators.momentum import (
    ADX,
    ADXR,
    APO,
    AROON,
    AROONOSC,
    BOP,
    CCI,
    CMO,
    DX,
    MACD,
    MACDEXT,
    MACDFIX,
    MFI,
    MINUS_DI,
    MINUS_DM,
    MOM,
    PLUS_DI,
    PLUS_DM,
    PPO,
    ROC,
    ROCP,
    ROCR,
    ROCR100,
    RSI,
    STOCH,
    STOCHF,
    STOCHRSI,
    TRIX,
    ULTOSC,
    WILLR,
)
from quanta.indicators.overlap import (
    BBANDS,
    DEMA,
    EMA,
    HT_TRENDLINE,
    KAMA,
    MA,
    MAMA,
    MAVP,
    MIDPOINT,
    MIDPRICE,
    SAR,
    SAREXT,
    SMA,
    T3,
    TEMA,
    TRIMA,
    WMA,
)
from quanta.indicators.patterns import CDLDOJI, CDLENGULFING
from quanta.indicators.price import AVGPRICE, MEDPRICE, TYPPRICE, WCLPRICE
from quanta.indicators.statistic import (
    BETA,
    CORREL,
    LINEARREG,
    LINEARREG_ANGLE,
    LINEARREG_INTERCEPT,
    LINEARREG_SLOPE,
    STDDEV,
    TSF,
    VAR,
)
from quanta.indicators.volatility import ATR, NATR, TRANGE
from quanta.indicators.volume import AD, ADOSC, OBV

__all__ = [
    "AD",
    "ADOSC",
    "ADX",
    "ADXR",
    "APO",
    "AROON",
    "AROONOSC",
    "ATR",
    "AVGPRICE",
    "BBANDS",
    "BETA",
    "BOP",
    "CCI",
    "CDLDOJI",
    "CDLENGULFING",
    "CMO",
    "CORREL",
    "DEMA",
    "DX",
    "EMA",
    "HT_DCPERIOD",
    "HT_PHASOR",
    "HT_TRENDLINE",
    "KAMA",
    "LINEARREG",
    "LINEARREG_ANGLE",
    "LINEARREG_INTERCEPT",
    "LINEARREG_SLOPE",
    "MA",
    "MACD",
    "MACDEXT",
    "MACDFIX",
    "MAMA",
    "MAVP",
    "MAX",
    "MEDPRICE",
    "MFI",
    "MIDPOINT",
    "MIDPRICE",
    "MIN",
    "MINMAX",
    "MINUS_DI",
    "MINUS_DM",
    "MOM",
    "NATR",
    "OBV",
    "PLUS_DI",
    "PLUS_DM",
    "PPO",
    "ROC",
    "ROCP",
    "ROCR",
    "ROCR100",
    "RSI",
    "SAR",
    "SAREXT",
    "SMA",
    "STDDEV",
    "STOCH",
    "STOCHF",
    "STOCHRSI",
    "SUM",
    "T3",
    "TEMA",
    "TRANGE",
    "TRIMA",
    "TRIX",
    "TSF",
    "TYPPRICE",
    "ULTOSC",
    "VAR",
    "WCLPRICE",
    "WILLR",
    "WMA",
    "IndicatorSpec",
    "MA_Type",
    "available_indicators",
    "get_indicator",
    "indicator",
    "indicator_families",
    "register_indicator",
    "unregister_indicator",
]
