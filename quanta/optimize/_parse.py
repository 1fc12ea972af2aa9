"""Parameter values from text (the CLI, forms): ``n=10``, ``fast=5:50:5`` and ``slow=10,20,50``.

Values are converted to the type of the strategy's default for that parameter; an unknown name
fails with the engine's "did you mean" ``ParameterError``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from quanta.engine.errors import ParameterError
from quanta.optimize._space import Range
from quanta.strategy import Strategy

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def split_assignment(text: str) -> tuple[str, str]:
    """``"name=value"`` → ``("name", "value")``."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise ParameterError(f"expected NAME=VALUE, got {text!r}")
    return name.strip(), value.strip()


def parse_value(strategy: type[Strategy], name: str, text: str) -> Any:
    """``text`` as the type of ``strategy``'s default for ``name``."""
    defaults = strategy.params()
    if name not in defaults:
        strategy.resolve_params({name: text})  # raises the engine's "did you mean" error
    return _convert(strategy.__name__, name, text, defaults[name])


def parse_params(strategy: type[Strategy], assignments: Iterable[str]) -> dict[str, Any]:
    """``["n1=10", "n2=20"]`` → ``{"n1": 10, "n2": 20}``, typed by the strategy's defaults."""
    out: dict[str, Any] = {}
    for text in assignments:
        name, value = split_assignment(text)
        out[name] = parse_value(strategy, name, value)
    return out


def parse_space(strategy: type[Strategy], assignments: Iterable[str]) -> dict[str, Range | list[Any]]:
    """``["fast=5:50:5", "slow=10,20,50"]`` → ``{"fast": Range(5, 50, 5), "slow": [10, 20, 50]}``.

    ``start:stop:step`` is inclusive (the step defaults to 1); a single value is a fixed parameter.
    """
    out: dict[str, Range | list[Any]] = {}
    for text in assignments:
        name, value = split_assignment(text)
        if name in out:
            raise ParameterError(f"parameter {name!r} is given twice")
        out[name] = _dimension(strategy, name, value)
    return out


def _dimension(strategy: type[Strategy], name: str, text: str) -> Range | list[Any]:
    if ":" in text:
        parts = [p.strip() for p in text.split(":")]
        if len(parts) not in (2, 3) or not all(parts):
            raise ParameterError(f"{name}: a range is START:STOP[:STEP], got {text!r}")
        start, stop, *step = (parse_value(strategy, name, p) for p in parts)
        if isinstance(start, bool) or not isinstance(start, int | float):
            raise ParameterError(f"{name}: ranges need a numeric parameter, got {text!r}")
        try:
            return Range(start, stop, step[0] if step else 1)
        except ValueError as exc:
            raise ParameterError(f"{name}: {exc}") from None
    return [parse_value(strategy, name, p.strip()) for p in text.split(",") if p.strip()]


def _convert(owner: str, name: str, text: str, default: Any) -> Any:
    try:
        if isinstance(default, bool):
            return _bool(text)
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
    except ValueError:
        kind = type(default).__name__
        raise ParameterError(f"{owner}.{name} expects {kind} (default {default!r}), got {text!r}") from None
    return text


def _bool(text: str) -> bool:
    low = text.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError(text)
