"""Price data revealed bar by bar: every accessor returns a numpy view ending at the current bar."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from quanta.engine.market import Market


class Bars:
    """OHLCV of one symbol (1-D arrays) or of a whole universe (2-D, one row per symbol).

    Inside ``next()`` the arrays end at the current bar, so ``close[-1]`` is the latest close;
    inside ``init()`` they span the whole history, for precomputing indicators.
    """

    __slots__ = ("_close", "_high", "_index", "_low", "_n", "_open", "_volume", "symbol")

    def __init__(self, market: Market, row: int | None) -> None:
        self.symbol = market.symbols[row] if row is not None else None
        self._open = _row(market.open, row)
        self._high = _row(market.high, row)
        self._low = _row(market.low, row)
        self._close = _row(market.close, row)
        self._volume = _row(market.volume, row)
        self._index = market.index.view("datetime64[ns]") if market.is_datetime else market.index
        self._n = market.n_bars

    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:
        return f"<Bars {self.symbol or 'universe'} n={self._n}>"

    @property
    def open(self) -> np.ndarray:
        """Opening prices up to now."""
        return self._open[..., : self._n]

    @property
    def high(self) -> np.ndarray:
        """Highs up to now."""
        return self._high[..., : self._n]

    @property
    def low(self) -> np.ndarray:
        """Lows up to now."""
        return self._low[..., : self._n]

    @property
    def close(self) -> np.ndarray:
        """Closing prices up to now."""
        return self._close[..., : self._n]

    @property
    def volume(self) -> np.ndarray:
        """Volumes up to now (NaN when the data had none)."""
        return self._volume[..., : self._n]

    @property
    def index(self) -> np.ndarray:
        """Bar timestamps up to now (``datetime64[ns]``, UTC for tz-aware data) or the numeric index."""
        return self._index[: self._n]

    ts = index

    @property
    def df(self) -> pd.DataFrame:
        """A pandas copy of the bars revealed so far (one symbol only; convenient, not fast)."""
        if self._close.ndim != 1:
            raise TypeError("df is per symbol: use data[symbol].df")
        cols = {
            "Open": self.open,
            "High": self.high,
            "Low": self.low,
            "Close": self.close,
            "Volume": self.volume,
        }
        return pd.DataFrame(cols, index=self.index)


def _row(matrix: np.ndarray, row: int | None) -> np.ndarray:
    return matrix if row is None else matrix[row]


class Data(Bars):
    """The strategy's view of the market: ``data.close`` (one symbol) or ``data["AAPL"].close``."""

    __slots__ = ("_by_symbol", "symbols", "views")

    def __init__(self, market: Market) -> None:
        single = len(market.symbols) == 1
        super().__init__(market, 0 if single else None)
        self.symbols = market.symbols
        self._by_symbol: dict[str, Bars] = (
            {market.symbols[0]: self}
            if single
            else {s: Bars(market, k) for k, s in enumerate(market.symbols)}
        )
        self.views: tuple[Bars, ...] = (self,) if single else (self, *self._by_symbol.values())

    def __getitem__(self, symbol: str) -> Bars:
        try:
            return self._by_symbol[symbol]
        except KeyError:
            raise KeyError(f"unknown symbol {symbol!r}; have {list(self.symbols)}") from None

    def _set_length(self, n: int) -> None:
        for view in self.views:
            view._n = n
