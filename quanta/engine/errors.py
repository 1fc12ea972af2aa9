"""Errors raised by the backtest engine: each names what is wrong and how to fix it."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any


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
    """User strategy code raised; ``filename``/``lineno`` point at the user's line.

    ``trace`` is the original exception's traceback as text. The error pickles with its message,
    fields, trace and notes, so it crosses process boundaries (``__cause__`` stays behind).
    """

    def __init__(
        self,
        message: str,
        *,
        filename: str | None,
        lineno: int | None,
        method: str,
        bar: int | None = None,
        trace: str = "",
    ) -> None:
        super().__init__(message)
        self.filename = filename
        self.lineno = lineno
        self.method = method
        self.bar = bar
        self.trace = trace

    def __reduce__(self) -> tuple[Any, ...]:
        state = dict(self.__dict__)  # the fields, and notes added on the way
        fields = {name: state.pop(name) for name in ("filename", "lineno", "method", "bar", "trace")}
        return (_strategy_error, (str(self), fields), state)


def _strategy_error(message: str, fields: dict[str, Any]) -> StrategyError:
    return StrategyError(message, **fields)


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """A `` Did you mean: x?`` hint for a misspelt ``name``, or an empty string."""
    matches = difflib.get_close_matches(name, list(choices), n=3)
    return f" Did you mean: {', '.join(matches)}?" if matches else ""
