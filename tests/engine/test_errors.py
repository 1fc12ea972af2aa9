"""Clear errors: the user's line for strategy bugs, hints for misspelt names, refusals for bad data."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from quanta import Backtest, Strategy
from quanta.engine import ConfigError, DataError, ParameterError, StrategyError
from quanta.indicators import SMA
from quanta.testing.strategies import SmaCross
from tests.engine.conftest import random_bars


class Crashes(Strategy):
    at_bar = 5

    def next(self) -> None:
        if self.bar == self.at_bar:
            ratio = 1 / 0  # the line the error must point at
            del ratio


def test_a_strategy_exception_names_the_users_file_line_and_bar() -> None:
    with pytest.raises(StrategyError) as caught:
        Backtest(random_bars(1, 20), Crashes).run()
    err = caught.value
    assert err.filename == __file__
    assert err.lineno == Crashes.next.__code__.co_firstlineno + 2
    assert (err.method, err.bar) == ("next", 5)
    assert "ZeroDivisionError" in str(err)
    assert "ratio = 1 / 0" in str(err)
    assert isinstance(err.__cause__, ZeroDivisionError)


def test_a_strategy_error_pickles_with_its_message_fields_and_traceback_text() -> None:
    with pytest.raises(StrategyError) as caught:
        Backtest(random_bars(1, 20), Crashes).run()
    err = caught.value
    err.add_note("while sweeping")
    assert "ZeroDivisionError" in err.trace
    assert "ratio = 1 / 0" in err.trace
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is StrategyError
    assert str(back) == str(err)
    assert (back.filename, back.lineno, back.method, back.bar) == (err.filename, err.lineno, "next", 5)
    assert back.trace == err.trace
    assert back.__notes__ == ["while sweeping"]


def test_an_indicator_of_the_wrong_length_fails_in_init() -> None:
    class Short(Strategy):
        def init(self) -> None:
            self.ma = self.I(lambda c: c[:-1], self.data.close)

        def next(self) -> None:
            pass

    with pytest.raises(StrategyError, match="must return array") as caught:
        Backtest(random_bars(1, 20), Short).run()
    assert caught.value.method == "init"


def test_a_misspelt_parameter_gets_a_did_you_mean_hint() -> None:
    with pytest.raises(ParameterError, match="Did you mean: fast"):
        Backtest(random_bars(1, 30), SmaCross).run(fsat=5)


def test_parameters_are_coerced_to_their_defaults_type_when_lossless() -> None:
    class Typed(Strategy):
        n = 10
        level = 0.5
        on = True
        label = "x"

        def next(self) -> None:
            pass

    assert Typed.resolve_params({"n": 12.0, "level": 1, "on": np.bool_(False)}) == {
        "n": 12,
        "level": 1.0,
        "on": False,
        "label": "x",
    }
    for bad in ({"n": 2.5}, {"n": "3"}, {"on": 1}, {"level": "high"}, {"label": 3}):
        with pytest.raises(ParameterError, match="expects"):
            Typed.resolve_params(bad)


def test_a_misspelt_option_gets_a_did_you_mean_hint() -> None:
    with pytest.raises(ConfigError, match="Did you mean: commission"):
        Backtest(random_bars(1, 10), SmaCross, comission=0.001)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"cash": 0}, "cash must be a positive"),
        ({"margin": 1.5}, "margin must be in"),
        ({"commission": 0.5}, "commission rate must be in"),
        ({"spread": -0.1}, "spread must be"),
    ],
)
def test_out_of_range_options_are_refused(options: dict[str, float], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Backtest(random_bars(1, 10), SmaCross, **options)


def test_bad_data_is_refused_with_the_offending_row() -> None:
    data = random_bars(2, 10)
    with pytest.raises(DataError, match="empty"):
        Backtest(data.iloc[:0], SmaCross)
    holed = data.copy()
    holed.iloc[4, holed.columns.get_loc("Close")] = np.nan
    with pytest.raises(DataError, match="close price is NaN or infinite at 2020-01-07"):
        Backtest(holed, SmaCross)
    with pytest.raises(DataError, match="strictly increasing"):
        Backtest(data.iloc[::-1], SmaCross)
    with pytest.raises(DataError, match="strictly increasing"):
        Backtest(pd.concat([data, data.iloc[-1:]]), SmaCross)
    with pytest.raises(DataError, match="missing column 'high'"):
        Backtest(data.drop(columns="High"), SmaCross)


def test_a_strategy_must_say_how_it_decides() -> None:
    class Nothing(Strategy):
        pass

    with pytest.raises(TypeError, match="must override exactly one of next"):
        Backtest(random_bars(1, 10), Nothing).run()


def test_warm_up_delays_the_first_decision_until_indicators_have_values() -> None:
    bars: list[int] = []

    class Watch(Strategy):
        def init(self) -> None:
            self.ma = self.I(SMA, self.data.close, 5)

        def next(self) -> None:
            bars.append(self.bar)
            assert len(self.ma) == len(self.data.close) == self.bar + 1
            assert not np.isnan(self.ma[-1])

    result = Backtest(random_bars(1, 12), Watch).run()
    assert bars == list(range(5, 12))
    assert result.warmup_bars == 4
