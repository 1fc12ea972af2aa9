"""Static checks of a strategy's source before it runs: imports, names and attributes.

``check_source`` parses the source and walks it once; the first thing the sandbox does not allow is
reported as a ``Violation`` with its line ("forbidden import os", "forbidden attribute __globals__").
The same rules are enforced again at run time (``quanta.sandbox._restrict``) for what a static check
cannot see, such as ``getattr(obj, computed_name)``.
"""

from __future__ import annotations

import ast
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from quanta.sandbox._allowed import allowed, visible

DENIED_NAMES: Final = frozenset(
    {
        "breakpoint",
        "compile",
        "copyright",
        "credits",
        "delattr",
        "eval",
        "exec",
        "exit",
        "globals",
        "help",
        "input",
        "license",
        "locals",
        "memoryview",
        "open",
        "quit",
        "vars",
    }
)
"""Builtins a strategy may not name (absent from its builtins at run time too)."""

ALLOWED_DUNDERS: Final = frozenset(
    {
        "__doc__",
        "__init__",
        "__iter__",
        "__len__",
        "__name__",
        "__next__",
        "__post_init__",
        "__qualname__",
        "__repr__",
        "__str__",
    }
)
"""Dunder names a strategy may use (reading ``__class__``, ``__globals__``… is how escapes start)."""

DENIED_ATTRIBUTES: Final = frozenset(
    {
        # frames, code and introspection: the ways from an object to a module's globals
        "ag_await",
        "ag_code",
        "ag_frame",
        "co_code",
        "co_consts",
        "co_names",
        "cr_await",
        "cr_code",
        "cr_frame",
        "f_back",
        "f_builtins",
        "f_code",
        "f_globals",
        "f_locals",
        "f_trace",
        "format_map",
        "func_code",
        "func_globals",
        "gi_code",
        "gi_frame",
        "gi_yieldfrom",
        "mro",
        "tb_frame",
        "tb_next",
        "with_traceback",
        # native code, processes and files
        "DataSource",
        "ctypes",
        "dump",
        "fromfile",
        "fromregex",
        "genfromtxt",
        "load",
        "loadtxt",
        "memmap",
        "modules",
        "popen",
        "savetxt",
        "savez",
        "savez_compressed",
        "system",
        "to_clipboard",
        "to_csv",
        "to_excel",
        "to_feather",
        "to_hdf",
        "to_parquet",
        "to_pickle",
        "to_sql",
        "to_stata",
        "tofile",
    }
)
"""Attributes a strategy may not read or write, whatever the object."""

ENGINE_PRIVATE: Final = frozenset(
    {"_broker", "_indicators", "_market", "_params", "_position", "_positions", "_quantity", "_sym"}
)
"""The engine's own attributes on a strategy instance: a strategy may not reach past its API."""

SELF_NAMES: Final = frozenset({"self", "cls"})


@dataclass(frozen=True, slots=True)
class Violation:
    """Something the sandbox does not allow, and the line it is on."""

    message: str
    line: int | None


class SourceSyntaxError(ValueError):
    """The source does not parse."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


def check_source(source: str, filename: str = "strategy.py") -> Violation | None:
    """The first violation in ``source``, or None; ``SourceSyntaxError`` if it does not parse."""
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as exc:
        raise SourceSyntaxError(f"syntax error: {exc.msg}", exc.lineno) from exc
    except ValueError as exc:  # e.g. null bytes
        raise SourceSyntaxError(f"syntax error: {exc}", None) from exc
    found = [(_where(node), problem) for node in ast.walk(tree) if (problem := _check(node)) is not None]
    if found:
        (_, _, line), problem = min(found)  # the first to end: in `a.b.c`, `.b` before `.c`
        return Violation(problem, line)
    if not any(isinstance(node, ast.ClassDef) and node.bases for node in ast.walk(tree)):
        return Violation("the source defines no strategy class (class MyStrategy(Strategy): …)", None)
    return None


def _where(node: ast.AST) -> tuple[int, int, int]:
    end = getattr(node, "end_lineno", None) or 0, getattr(node, "end_col_offset", None) or 0
    return (*end, getattr(node, "lineno", 0))


def _check(node: ast.AST) -> str | None:
    check = _CHECKS.get(type(node))
    return None if check is None else check(node)


def _check_import(node: ast.Import) -> str | None:
    return next((f"forbidden import {a.name}" for a in node.names if not allowed(a.name)), None)


def _check_match(node: ast.MatchClass) -> str | None:
    return next((f"forbidden attribute {a}" for a in node.kwd_attrs if attribute_denied(a)), None)


def _check_call(node: ast.Call) -> str | None:
    """``getattr(x, "__class__")`` and friends with a literal name."""
    match node:
        case ast.Call(
            func=ast.Name(id="getattr" | "setattr" | "hasattr"), args=[_, ast.Constant(value=str(a)), *_]
        ):
            if attribute_denied(a) or a.startswith("_"):
                return f"forbidden attribute {a}"
    return None


def _check_from(node: ast.ImportFrom) -> str | None:
    module = node.module or ""
    if node.level:
        return "forbidden relative import"
    if not allowed(module):
        return f"forbidden import {module}"
    for alias in node.names:
        if alias.name == "*":
            return f"forbidden import * from {module}"
        if not visible(module, alias.name):
            return f"forbidden import {module}.{alias.name}"
    return None


def _check_name(name: str, *, stored: bool) -> str | None:
    if name in DENIED_NAMES and not stored:  # a parameter may be called `exit`; the builtin may not be read
        return f"forbidden name {name}"
    if _dunder(name) and name not in ("__name__", "__doc__"):
        return f"forbidden name {name}"
    return None


def _check_attribute(value: ast.expr, attr: str) -> str | None:
    if attribute_denied(attr):
        return f"forbidden attribute {attr}"
    if attr.startswith("_") and not _dunder(attr):
        own = isinstance(value, ast.Name) and value.id in SELF_NAMES
        if not own or attr in ENGINE_PRIVATE:
            return f"forbidden attribute {attr} (private attributes only on self)"
    if attr == "format":
        return _check_format(value)
    return None


def attribute_denied(attr: str) -> bool:
    """Whether reading or writing attribute ``attr`` is refused outright."""
    return attr in DENIED_ATTRIBUTES or (_dunder(attr) and attr not in ALLOWED_DUNDERS)


def _check_format(receiver: ast.expr) -> str | None:
    if not (isinstance(receiver, ast.Constant) and isinstance(receiver.value, str)):
        return "forbidden attribute format on a computed string (use an f-string)"
    try:
        fields = [field for _, field, _, _ in string.Formatter().parse(receiver.value) if field]
    except ValueError:
        return None
    if any("." in field or "[" in field for field in fields):
        return "forbidden format field reaching into an object (use an f-string)"
    return None


_CHECKS: Final[dict[type[ast.AST], Callable[[Any], str | None]]] = {
    ast.Import: _check_import,
    ast.ImportFrom: _check_from,
    ast.Name: lambda node: _check_name(node.id, stored=isinstance(node.ctx, ast.Store)),
    ast.Attribute: lambda node: _check_attribute(node.value, node.attr),
    ast.MatchClass: _check_match,
    ast.Call: _check_call,
}


def _dunder(name: str) -> bool:
    return name.startswith("__") and name.endswith("__") and len(name) > 4
