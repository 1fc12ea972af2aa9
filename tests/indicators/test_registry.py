"""The indicator registry: built-ins with metadata, and user indicators usable like built-ins."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterator

import numpy as np
import pytest
import talib
import talib.abstract

import quanta.indicators as qi
from quanta.indicators import available_indicators, get_indicator, indicator, register_indicator


@pytest.fixture
def cleanup() -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        qi.unregister_indicator(name)


def test_every_exported_indicator_is_registered_under_its_own_name() -> None:
    exported = {n for n in qi.__all__ if n.isupper() and n != "MA_Type"}
    assert exported == set(available_indicators())


def test_builtin_metadata_describes_inputs_params_outputs_and_overlay() -> None:
    spec = get_indicator("BBANDS")
    assert spec.family == "overlap"
    assert spec.inputs == ("real",)
    assert dict(spec.params) == {"timeperiod": 20, "nbdevup": 2.0, "nbdevdn": 2.0, "matype": 0}
    assert spec.outputs == ("upperband", "middleband", "lowerband")
    assert spec.overlay is True
    assert spec.description.startswith("Bollinger")


def test_describe_gives_json_friendly_metadata() -> None:
    described = get_indicator("MACD").describe()
    assert described["params"] == {"fastperiod": 12, "slowperiod": 26, "signalperiod": 9}
    assert described["outputs"] == ["macd", "macdsignal", "macdhist"]
    assert json.loads(json.dumps(described)) == described


def test_oscillators_are_not_overlays_and_list_all_their_inputs() -> None:
    spec = get_indicator("STOCH")
    assert spec.overlay is False
    assert spec.inputs == ("high", "low", "close")
    assert spec.outputs == ("slowk", "slowd")


def test_families_group_the_builtins() -> None:
    assert {"overlap", "momentum", "volatility", "volume", "price", "statistic", "math", "cycle"} <= set(
        qi.indicator_families()
    )
    assert "RSI" in available_indicators(family="momentum")
    assert "RSI" not in available_indicators(family="overlap")


def test_decorated_user_indicator_is_listed_and_callable_like_a_builtin(cleanup: list[str]) -> None:
    @indicator(family="custom", outputs=("spread",))
    def SPREAD(high: np.ndarray, low: np.ndarray, timeperiod: int = 3) -> np.ndarray:
        """Average high-low spread."""
        return qi.SMA(np.asarray(high) - np.asarray(low), timeperiod)

    cleanup.append("SPREAD")
    assert "SPREAD" in available_indicators(family="custom")
    spec = get_indicator("SPREAD")
    assert (spec.inputs, dict(spec.params), spec.outputs, spec.overlay) == (
        ("high", "low"),
        {"timeperiod": 3},
        ("spread",),
        False,
    )
    np.testing.assert_allclose(spec([3.0, 4.0, 5.0], [1.0, 1.0, 1.0]), [np.nan, np.nan, 3.0])


def test_register_indicator_accepts_a_plain_function_under_another_name(cleanup: list[str]) -> None:
    def double_ema(real: np.ndarray, timeperiod: int = 5) -> np.ndarray:
        return qi.EMA(qi.EMA(real, timeperiod), timeperiod)

    spec = register_indicator(double_ema, name="EMA2", family="overlap")
    cleanup.append("EMA2")
    assert spec.overlay is True
    assert get_indicator("EMA2").func is double_ema


def test_registering_a_taken_name_needs_replace(cleanup: list[str]) -> None:
    with pytest.raises(ValueError, match="already registered"):
        register_indicator(lambda real: real, name="SMA")


def test_unknown_indicator_suggests_close_names() -> None:
    with pytest.raises(KeyError, match="did you mean SMA"):
        get_indicator("SMAA")


def _talib_signature(name: str) -> list[tuple[str, object]]:
    """Argument names (in order) and defaults of a TA-Lib function, from its docstring and info."""
    first_line = getattr(talib, name).__doc__.splitlines()[0]
    names = re.findall(r"(?:ndarray|int|double) (\w+)", first_line)
    defaults = dict(talib.abstract.Function(name).info["parameters"])
    return [(n, defaults.get(n, "<input>")) for n in names]


def test_signatures_match_talib_names_order_and_defaults() -> None:
    for name in available_indicators():
        if not hasattr(talib, name) or get_indicator(name).family == "custom":
            continue
        params = inspect.signature(get_indicator(name).func).parameters.values()
        ours = [(p.name, "<input>" if p.default is p.empty else p.default) for p in params]
        assert ours == _talib_signature(name), name
