"""The table of TA-Lib functions we mirror: inputs and parameter variants (incl. non-defaults)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

HLC = ("high", "low", "close")
HL = ("high", "low")
OHLC = ("open", "high", "low", "close")
HLCV = ("high", "low", "close", "volume")
REAL = ("real",)
PAIR = ("real0", "real1")


def atol_default(ref: np.ndarray, args: list[np.ndarray]) -> float:
    """1e-9 absolute: the brief's parity bar."""
    return 1e-9


def atol_scaled(ref: np.ndarray, args: list[np.ndarray]) -> float:
    """1e-9 absolute or 1e-13 of the output's own scale, whichever is larger.

    For cumulative volume series (A/D line ~1e9 on GOOG) the EMAs of ADOSC carry rounding at
    ~1e-16 of that scale, and a 200-bar SUM of prices near 5000 is ~1e6 (one ulp ≈ 1e-10), so an
    absolute 1e-9 would demand more digits than float64 has.
    """
    finite = np.abs(ref[np.isfinite(ref)])
    return max(1e-9, 1e-13 * float(finite.max())) if finite.size else 1e-9


def atol_degrees(ref: np.ndarray, args: list[np.ndarray]) -> float:
    """1e-9 on the slope, carried into degrees: ``d atan(m) / dm <= 1`` rad, i.e. 180/π degrees.

    TA-Lib's running ``SumXY`` leaves ~2e-11 of rounding in the slope (ours matches the exact
    rational slope to ~1e-14); the degree conversion multiplies that by up to 57.3.
    """
    return 1e-9 * 180.0 / np.pi


def atol_squared(ref: np.ndarray, args: list[np.ndarray]) -> float:
    """1e-9 absolute or ``2e-14·max(x)²``, whichever is larger.

    A variance of prices at level ``x`` is a difference of quantities of size ``x²``; float64
    cannot resolve it more finely than a few ``eps·x²``, and TA-Lib's running shifted sums add
    that much per bar in the window (1.2e-9 off the exact rational value at x ≈ 2100, period 5;
    ours is ~10× closer). 2e-14 relative is TA-Lib's own "equal" tolerance (1e-14·(|a|+|b|)).
    """
    finite = np.abs(args[0][np.isfinite(args[0])])
    return max(1e-9, 2e-14 * float(finite.max()) ** 2) if finite.size else 1e-9


@dataclass(frozen=True)
class Case:
    """One indicator with its input names and keyword variants to test."""

    name: str
    inputs: tuple[str, ...]
    variants: list[dict[str, Any]] = field(default_factory=lambda: [{}])
    atol: Callable[[np.ndarray, list[np.ndarray]], float] = atol_default


CASES: list[Case] = [
    # overlap
    Case(
        "BBANDS",
        REAL,
        [
            {},
            {"timeperiod": 5},
            {"timeperiod": 10, "nbdevup": 1.5, "nbdevdn": 2.5, "matype": 1},
            {"matype": 3},
        ],
    ),
    Case("DEMA", REAL, [{}, {"timeperiod": 5}]),
    Case("EMA", REAL, [{}, {"timeperiod": 1}, {"timeperiod": 9}]),
    Case("HT_TRENDLINE", REAL),
    Case("KAMA", REAL, [{}, {"timeperiod": 10}, {"timeperiod": 150}]),
    Case(
        "MA",
        REAL,
        [{}] + [{"timeperiod": 9, "matype": m} for m in range(1, 9)] + [{"timeperiod": 1, "matype": 1}],
    ),
    Case("MAMA", REAL, [{}, {"fastlimit": 0.3, "slowlimit": 0.1}]),
    Case(
        "MAVP",
        ("real", "periods"),
        [{}, {"minperiod": 3, "maxperiod": 12, "matype": 1}, {"maxperiod": 10, "matype": 6}],
    ),
    Case("MIDPOINT", REAL, [{}, {"timeperiod": 5}]),
    Case("MIDPRICE", HL, [{}, {"timeperiod": 5}]),
    Case("SAR", HL, [{}, {"acceleration": 0.05, "maximum": 0.3}]),
    Case(
        "SAREXT",
        HL,
        [
            {},
            {
                "startvalue": -100.0,
                "offsetonreverse": 0.01,
                "accelerationinitlong": 0.01,
                "accelerationmaxshort": 0.3,
            },
            {"startvalue": 50.0},
        ],
    ),
    Case("SMA", REAL, [{}, {"timeperiod": 1}, {"timeperiod": 7}, {"timeperiod": 200}]),
    Case("T3", REAL, [{}, {"timeperiod": 3, "vfactor": 0.2}]),
    Case("TEMA", REAL, [{}, {"timeperiod": 4}]),
    Case("TRIMA", REAL, [{}, {"timeperiod": 6}, {"timeperiod": 7}]),
    Case("WMA", REAL, [{}, {"timeperiod": 7}, {"timeperiod": 200}]),
    # momentum
    Case("ADX", HLC, [{}, {"timeperiod": 5}]),
    Case("ADXR", HLC, [{}, {"timeperiod": 5}]),
    Case("APO", REAL, [{}, {"fastperiod": 5, "slowperiod": 3, "matype": 0}, {"matype": 6}]),
    Case("AROON", HL, [{}, {"timeperiod": 5}]),
    Case("AROONOSC", HL, [{}, {"timeperiod": 5}]),
    Case("BOP", OHLC),
    Case("CCI", HLC, [{}, {"timeperiod": 5}]),
    Case("CMO", REAL, [{}, {"timeperiod": 5}]),
    Case("DX", HLC, [{}, {"timeperiod": 5}]),
    Case(
        "MACD",
        REAL,
        [
            {},
            {"fastperiod": 26, "slowperiod": 12, "signalperiod": 1},
            {"fastperiod": 3, "slowperiod": 7, "signalperiod": 4},
        ],
    ),
    Case(
        "MACDEXT",
        REAL,
        [
            {},
            {"fastmatype": 1, "slowmatype": 2, "signalmatype": 3},
            {"fastperiod": 30, "fastmatype": 6, "slowperiod": 10, "signalmatype": 8},
        ],
    ),
    Case("MACDFIX", REAL, [{}, {"signalperiod": 3}]),
    Case("MFI", HLCV, [{}, {"timeperiod": 5}]),
    Case("MINUS_DI", HLC, [{}, {"timeperiod": 1}, {"timeperiod": 5}]),
    Case("MINUS_DM", HL, [{}, {"timeperiod": 1}, {"timeperiod": 5}]),
    Case("MOM", REAL, [{}, {"timeperiod": 1}]),
    Case("PLUS_DI", HLC, [{}, {"timeperiod": 1}, {"timeperiod": 5}]),
    Case("PLUS_DM", HL, [{}, {"timeperiod": 1}, {"timeperiod": 5}]),
    Case("PPO", REAL, [{}, {"fastperiod": 5, "slowperiod": 3, "matype": 0}, {"matype": 4}]),
    Case("ROC", REAL, [{}, {"timeperiod": 3}]),
    Case("ROCP", REAL, [{}, {"timeperiod": 3}]),
    Case("ROCR", REAL, [{}, {"timeperiod": 3}]),
    Case("ROCR100", REAL, [{}, {"timeperiod": 3}]),
    Case("RSI", REAL, [{}, {"timeperiod": 2}, {"timeperiod": 30}]),
    Case(
        "STOCH",
        HLC,
        [{}, {"fastk_period": 9, "slowk_period": 4, "slowk_matype": 1, "slowd_period": 2, "slowd_matype": 2}],
    ),
    Case("STOCHF", HLC, [{}, {"fastk_period": 3, "fastd_period": 4, "fastd_matype": 1}]),
    Case("STOCHRSI", REAL, [{}, {"timeperiod": 9, "fastk_period": 3, "fastd_period": 2, "fastd_matype": 1}]),
    Case("TRIX", REAL, [{}, {"timeperiod": 5}]),
    Case("ULTOSC", HLC, [{}, {"timeperiod1": 14, "timeperiod2": 3, "timeperiod3": 5}]),
    Case("WILLR", HLC, [{}, {"timeperiod": 5}]),
    # volatility
    Case("ATR", HLC, [{}, {"timeperiod": 1}, {"timeperiod": 5}]),
    Case("NATR", HLC, [{}, {"timeperiod": 5}]),
    Case("TRANGE", HLC),
    # volume
    Case("AD", HLCV, atol=atol_scaled),
    Case("ADOSC", HLCV, [{}, {"fastperiod": 5, "slowperiod": 2}], atol=atol_scaled),
    Case("OBV", ("real", "volume"), atol=atol_scaled),
    # price
    Case("AVGPRICE", OHLC),
    Case("MEDPRICE", HL),
    Case("TYPPRICE", HLC),
    Case("WCLPRICE", HLC),
    # cycle
    Case("HT_DCPERIOD", REAL),
    Case("HT_PHASOR", REAL),
    # math operators
    Case("MAX", REAL, [{}, {"timeperiod": 5}]),
    Case("MIN", REAL, [{}, {"timeperiod": 5}]),
    Case("MINMAX", REAL, [{}, {"timeperiod": 5}]),
    Case("SUM", REAL, [{}, {"timeperiod": 5}, {"timeperiod": 200}], atol=atol_scaled),
    # statistic
    Case("BETA", PAIR, [{}, {"timeperiod": 10}]),
    Case("CORREL", PAIR, [{}, {"timeperiod": 10}, {"timeperiod": 150}]),
    Case("LINEARREG", REAL, [{}, {"timeperiod": 5}, {"timeperiod": 150}]),
    Case("LINEARREG_ANGLE", REAL, [{}, {"timeperiod": 5}], atol=atol_degrees),
    Case("LINEARREG_INTERCEPT", REAL, [{}, {"timeperiod": 5}]),
    Case("LINEARREG_SLOPE", REAL, [{}, {"timeperiod": 5}]),
    Case("STDDEV", REAL, [{}, {"timeperiod": 20, "nbdev": 2.0}, {"timeperiod": 150}]),
    Case("TSF", REAL, [{}, {"timeperiod": 5}]),
    Case("VAR", REAL, [{}, {"timeperiod": 1}, {"timeperiod": 20}], atol=atol_squared),
]


def variant_params() -> list[tuple[Case, dict[str, Any]]]:
    """Every (case, kwargs) pair, for ``pytest.mark.parametrize``."""
    return [(case, kw) for case in CASES for kw in case.variants]


def variant_id(value: object) -> str:
    """Readable test ids: ``SMA`` / ``timeperiod=7``."""
    if isinstance(value, Case):
        return value.name
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items()) or "defaults"
    return str(value)
