"""Errors raised by the backtest engine: each names what is wrong and how to fix it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class BacktestError(Exception):
    """Base class of every error the engine raises on purpose."""


class ConfigError(BacktestError, ValueError):
    """A backtest option is unknown or out of range."""


class DataError(BacktestError, ValueError):
    """The market data cannot be backtested as given (empty, NaN prices, unsorted index, …)."""


class ParameterError(BacktestError, ValueError):
    """A strategy parameter is unknown or has the wrong type."""


class OrderError(BacktestError, ValueError):
    """An order is impossible as placed (zero or negative size, SL above a long's entry, …)."""


class StrategyError(BacktestError):
    """User strategy code raised; ``filename``/``lineno`` point at the user's line."""

    def __init__(
        self,
        message: str,
        *,
        filename: str | None,
        lineno: int | None,
        method: str,
        bar: int | None = None,
    ) -> None:
        super().__init__(message)
        self.filename = filename
        self.lineno = lineno
        self.method = method
        self.bar = bar


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """A `` Did you mean: x?`` hint for a misspelt ``name``, or an empty string."""
    matches = difflib.get_close_matches(name, list(choices), n=3)
    return f" Did you mean: {', '.join(matches)}?" if matches else ""
