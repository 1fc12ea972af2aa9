"""Run-time half of the Python checks: the builtins a strategy module gets.

``strategy_builtins()`` is a fresh dict of builtins without ``open``, ``eval``, ``exec``, ``compile``,
``globals``… whose ``__import__`` hands out only allowed module views and whose ``getattr``,
``setattr`` and ``hasattr`` refuse the attributes the static checks refuse. A refusal raises
``ForbiddenError`` and is remembered (``violations()``), so code that catches it still fails.
"""

from __future__ import annotations

import builtins
import types
from collections.abc import Mapping, Sequence
from typing import Any, Final

from quanta.sandbox._allowed import allowed, view
from quanta.sandbox._checks import DENIED_NAMES, attribute_denied

_RESERVED: Final = frozenset({"__import__", "getattr", "setattr", "hasattr"})
_violations: list[str] = []


class ForbiddenError(Exception):
    """The strategy reached for something the sandbox does not allow."""


def violations() -> list[str]:
    """What was refused so far in this process (the first one is the job's error)."""
    return list(_violations)


def forget_violations() -> None:
    """Start a new job's record of refusals (a forked job must not inherit the worker's)."""
    _violations.clear()


def _refuse(message: str) -> ForbiddenError:
    _violations.append(message)
    return ForbiddenError(message)


def strategy_builtins() -> dict[str, Any]:
    """The builtins of a strategy module."""
    safe = {
        name: value
        for name, value in vars(builtins).items()
        if not name.startswith("_") and name not in DENIED_NAMES and name not in _RESERVED
    }
    safe["__build_class__"] = builtins.__build_class__
    safe["__debug__"] = __debug__
    safe["__import__"] = _import
    safe["getattr"] = _getattr
    safe["setattr"] = _setattr
    safe["hasattr"] = _hasattr
    return safe


def _import(
    name: str,
    globals_: Mapping[str, Any] | None = None,
    locals_: Mapping[str, Any] | None = None,
    fromlist: Sequence[str] | None = (),
    level: int = 0,
) -> types.ModuleType:
    if level:
        raise _refuse("forbidden relative import")
    if not allowed(name):
        raise _refuse(f"forbidden import {name}")
    if not fromlist:
        return view(name.partition(".")[0])
    module = view(name)
    for item in fromlist:
        if not hasattr(module, item):
            raise _refuse(f"forbidden import {name}.{item}")
    return module


def _check(name: object) -> None:
    if isinstance(name, str) and (attribute_denied(name) or name.startswith("_") or name == "format"):
        raise _refuse(f"forbidden attribute {name}")


def _getattr(obj: object, name: str, *default: Any) -> Any:
    _check(name)
    value = getattr(obj, name, *default)
    if isinstance(value, types.ModuleType) and not _is_view(value):
        raise _refuse(f"forbidden module {value.__name__}")
    return value


def _setattr(obj: object, name: str, value: Any) -> None:
    _check(name)
    setattr(obj, name, value)


def _hasattr(obj: object, name: str) -> bool:
    _check(name)
    return hasattr(obj, name)


def _is_view(module: types.ModuleType) -> bool:
    return allowed(module.__name__) and view(module.__name__) is module
