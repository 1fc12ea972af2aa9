"""Loading strategies from files and aligned market data from the store."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from ibis.backends import BaseBackend

from quanta.data import UnknownSymbolError
from quanta.loading import EmptyRangeError, StrategyLoadError, StrategyRef, load_market, load_strategy


def test_several_symbols_are_aligned_on_common_timestamps(market: BaseBackend) -> None:
    data = load_market(market, ["AAPL", "FB"])
    assert data.symbols == ("AAPL", "FB")
    assert data.frames["AAPL"].index.equals(data.frames["FB"].index)
    assert data.dropped["FB"] == 0
    assert data.dropped["AAPL"] > 3000
    assert list(data.closes().columns) == ["AAPL", "FB"]


def test_date_range_is_inclusive(market: BaseBackend) -> None:
    data = load_market(market, ["GOOG"], start="2010-01-04", end="2010-01-08")
    assert [t.day for t in data.index] == [4, 5, 6, 7, 8]


def test_unknown_symbol_and_empty_range(market: BaseBackend) -> None:
    with pytest.raises(UnknownSymbolError, match="did you mean 'GOOG'"):
        load_market(market, ["GOGO"])
    with pytest.raises(EmptyRangeError, match="GOOG has bars from 2004-08-19"):
        load_market(market, ["GOOG"], start="1990-01-01", end="1990-12-31")
    with pytest.raises(EmptyRangeError, match="share no timestamps"):
        load_market(market, ["FB", "KO"])


def test_a_user_file_loads_once_and_its_reference_pickles(tmp_path: Path) -> None:
    source = tmp_path / "mine.py"
    source.write_text("from quanta import Strategy\n\n\nclass Mine(Strategy):\n    n = 2\n")
    first = load_strategy(source)
    assert load_strategy(source) is first
    ref = pickle.loads(pickle.dumps(StrategyRef.of(first)))
    assert ref.path == str(source)
    assert ref.load() is first


def test_an_import_error_names_the_file_and_line(tmp_path: Path) -> None:
    source = tmp_path / "bad_import.py"
    source.write_text("import math\n\nx = math.nope\n")
    with pytest.raises(StrategyLoadError, match=r"(?s)bad_import.py failed: AttributeError.*line 3"):
        load_strategy(source)


def test_files_that_are_not_strategies_are_refused(tmp_path: Path) -> None:
    with pytest.raises(StrategyLoadError, match="not found"):
        load_strategy(tmp_path / "missing.py")
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(StrategyLoadError, match="defines no Strategy subclass"):
        load_strategy(empty)
