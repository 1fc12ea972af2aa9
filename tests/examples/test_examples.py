"""Every bundled example runs on real bundled data, trades, and is described by the catalog."""

from __future__ import annotations

import sys

import pytest
from ibis.backends import BaseBackend

from quanta import Backtest
from quanta.examples import catalog, example
from quanta.loading import load_market, load_strategy

NAMES = [
    "bollinger_breakout",
    "macd_trend",
    "momentum_rotation",
    "pairs_trade",
    "rsi_mean_reversion",
    "sma_cross",
]


def test_catalog_lists_every_example_with_a_title_and_symbols() -> None:
    items = catalog()
    assert [e.name for e in items] == NAMES
    for item in items:
        assert item.title
        assert not item.title.endswith(".")
        assert len(item.description) > 40
        assert item.path.is_file()
        assert item.symbols
        assert item.class_name
    assert example("momentum_rotation").symbols == ("AAPL", "GOOG", "IBM", "MSFT")
    with pytest.raises(KeyError, match="sma_cross"):
        example("sma_crosss")


@pytest.mark.parametrize("name", NAMES)
def test_example_trades_on_its_default_symbols(name: str, market: BaseBackend) -> None:
    item = example(name)
    strategy = load_strategy(item.path)
    assert strategy.__name__ == item.class_name
    assert item.symbols == sys.modules[strategy.__module__].SYMBOLS
    data = load_market(market, item.symbols)
    result = Backtest(data.data, strategy, commission=0.001).run()
    assert result.stats["# Trades"] > 0
    assert result.symbols == item.symbols
    assert result.receipt.strategy == f"quanta.examples.{name}.{item.class_name}"
