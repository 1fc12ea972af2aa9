"""What sandboxed strategy code may import and use: the allow-list, and the module views it gets.

User code never gets a real module object: ``import numpy`` gives a *view*, a fresh module holding
the public names of numpy that are allowed (submodules only when they are allowed themselves), so a
module's own imports (``numpy.ctypeslib``, ``typing.sys``…) are out of reach. Views are built once, in
the trusted worker, before any user code runs.
"""

from __future__ import annotations

import importlib
import types
from collections.abc import Mapping
from functools import cache
from typing import Final

ALLOWED_MODULES: Final = frozenset(
    {
        "__future__",
        "abc",
        "bisect",
        "cmath",
        "collections",
        "collections.abc",
        "dataclasses",
        "datetime",
        "decimal",
        "enum",
        "fractions",
        "functools",
        "heapq",
        "itertools",
        "math",
        "numpy",
        "numpy.fft",
        "numpy.linalg",
        "numpy.random",
        "operator",
        "quanta",
        "quanta.indicators",
        "random",
        "statistics",
        "typing",
    }
)
"""Modules a strategy may import (a dotted name needs its own entry)."""

HIDDEN: Final[Mapping[str, frozenset[str]]] = {
    "numpy": frozenset(
        {
            "DataSource",
            "fromfile",
            "fromregex",
            "genfromtxt",
            "get_include",
            "info",
            "load",
            "loadtxt",
            "lookfor",
            "memmap",
            "save",
            "savetxt",
            "savez",
            "savez_compressed",
            "show_config",
            "show_runtime",
            "source",
        }
    ),
    "typing": frozenset({"get_type_hints", "ForwardRef", "get_overloads", "clear_overloads"}),
    "functools": frozenset({"singledispatch", "singledispatchmethod"}),
    "operator": frozenset({"attrgetter", "methodcaller"}),
}
"""Public names left out of a module's view: file access, and evaluating strings as code."""


def allowed(name: str) -> bool:
    """Whether ``name`` (a dotted module name) may be imported."""
    return name in ALLOWED_MODULES


@cache
def view(name: str) -> types.ModuleType:
    """The view of allowed module ``name``: its allowed public names, its allowed submodules' views."""
    if not allowed(name):
        raise KeyError(name)
    module = importlib.import_module(name)
    shown = types.ModuleType(name, module.__doc__)
    hidden = HIDDEN.get(name, frozenset())
    for attr in _public_names(module):
        if attr in hidden:
            continue
        value = getattr(module, attr, None)
        if isinstance(value, types.ModuleType):
            sub = f"{name}.{attr}"
            if value.__name__ == sub and allowed(sub):
                setattr(shown, attr, view(sub))
            continue
        setattr(shown, attr, value)
    for sub in sorted(ALLOWED_MODULES):
        parent, _, leaf = sub.rpartition(".")
        if parent == name and not hasattr(shown, leaf):
            importlib.import_module(sub)
            setattr(shown, leaf, view(sub))
    return shown


def _public_names(module: types.ModuleType) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in dir(module) if not n.startswith("_")]
    return [str(n) for n in names if not str(n).startswith("_")]


def visible(module: str, name: str) -> bool:
    """Whether ``from module import name`` is allowed (a public, not hidden name, or an allowed submodule)."""
    if allowed(f"{module}.{name}"):
        return True
    return hasattr(view(module), name)


def preload() -> int:
    """Build every view now (in the trusted worker, before user code and before the filesystem goes)."""
    return sum(len(vars(view(name))) for name in sorted(ALLOWED_MODULES))
