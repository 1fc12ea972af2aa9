"""What a strategy's source declares, read without running it: its strategy classes with their
parameters, and the module's default ``SYMBOLS``.

The web app builds the run form from this while people type, so it must never execute user code:
the source is parsed with ``ast`` and only literal values are read (``ast.literal_eval``). A parameter
whose default is not a literal int, float, bool or str (``slow = fast * 2``, ``levels = (1, 2)``) is
left out, as is anything private (``_cache = 3``).
"""

from __future__ import annotations

import ast
import math
import warnings
from dataclasses import dataclass, field

from quanta.workspace.errors import InvalidSource
from quanta.workspace.models import MAX_SOURCE_BYTES

__all__ = ["ParamValue", "StrategyClassInfo", "default_symbols", "strategy_classes"]

ParamValue = int | float | bool | str
STRATEGY_BASE = "Strategy"
MAX_SYMBOLS = 10


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategyClassInfo:
    """One strategy class of a source: its name, its parameters with their literal defaults (inherited
    ones first, as ``Strategy.params()`` orders them) and the line it starts on."""

    name: str
    params: dict[str, ParamValue] = field(default_factory=dict)
    line: int = 0


def strategy_classes(source: str) -> list[StrategyClassInfo]:
    """The top-level classes of ``source`` that subclass ``Strategy`` (directly, through ``quanta.Strategy``
    or an alias of it, or through another strategy class of the same source), in source order.

    ``InvalidSource`` (with line and column) when the source does not parse.
    """
    tree = _parse(source)
    bases = _strategy_names(tree)
    found: dict[str, StrategyClassInfo] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        parents = [_base_name(base) for base in node.bases]
        if not any(parent in bases or parent in found for parent in parents if parent is not None):
            found.pop(node.name, None)  # a later non-strategy class of the same name shadows it
            continue
        inherited: dict[str, ParamValue] = {}
        for parent in reversed(parents):
            if parent in found:
                inherited.update(found[parent].params)
        params = _class_params(node, inherited)
        found.pop(node.name, None)
        found[node.name] = StrategyClassInfo(name=node.name, params=params, line=node.lineno)
    return list(found.values())


def default_symbols(source: str) -> tuple[str, ...] | None:
    """The module's ``SYMBOLS`` when it is a literal tuple or list of 1 to 10 non-empty strings (the last
    assignment wins); None otherwise, or when the source does not parse."""
    try:
        tree = _parse(source)
    except InvalidSource:
        return None
    symbols: tuple[str, ...] | None = None
    for node in tree.body:
        for target, value in _assignments(node):
            if target == "SYMBOLS":
                symbols = _symbols(value)
    return symbols


# ---- helpers -------------------------------------------------------------------------------------------


def _parse(source: str) -> ast.Module:
    size = len(source.encode("utf-8", errors="surrogatepass"))
    if size > MAX_SOURCE_BYTES:
        raise InvalidSource(f"The source is {size:,} bytes; the limit is {MAX_SOURCE_BYTES:,} bytes.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. SyntaxWarning for invalid escapes: still Python
            return ast.parse(source, filename="<strategy>")
    except SyntaxError as exc:
        line, column = exc.lineno, exc.offset
        if line is None or column is None:
            raise InvalidSource(f"The source is not valid Python: {exc.msg}.") from exc
        raise InvalidSource(f"Line {line}, column {column}: {exc.msg}.", line=line, column=column) from exc
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes; absurd nesting
        raise InvalidSource(f"The source is not valid Python: {exc}.") from exc


def _strategy_names(tree: ast.Module) -> set[str]:
    """The names ``Strategy`` is known by in the module: itself and ``from … import Strategy as X``."""
    names = {STRATEGY_BASE}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names.update(alias.asname for alias in node.names if alias.name == STRATEGY_BASE and alias.asname)
    return names


def _base_name(base: ast.expr) -> str | None:
    """``Strategy`` for ``Strategy`` and ``quanta.Strategy``; a class name for a bare name."""
    if isinstance(base, ast.Name):
        return base.id
    if isinstance(base, ast.Attribute) and base.attr == STRATEGY_BASE:
        return STRATEGY_BASE
    return None


def _assignments(node: ast.stmt) -> list[tuple[str, ast.expr | None]]:
    """``(name, value)`` for each plain name a statement binds (value None: bound to a non-value, such as
    a function, a class, an import or an augmented assignment)."""
    if isinstance(node, ast.Assign):
        return [(target.id, node.value) for target in node.targets if isinstance(target, ast.Name)]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return [(node.target.id, node.value)] if node.value is not None else []
    if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
        return [(node.target.id, None)]
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return [(node.name, None)]
    return []


def _class_params(node: ast.ClassDef, inherited: dict[str, ParamValue]) -> dict[str, ParamValue]:
    params = dict(inherited)
    for statement in node.body:
        for name, value in _assignments(statement):
            if name.startswith("_"):
                continue
            literal = _literal(value)
            if literal is None:
                params.pop(name, None)
            else:
                params[name] = literal
    return params


def _literal(value: ast.expr | None) -> ParamValue | None:
    """The value of a literal int, float, bool or str expression; None for anything else."""
    if value is None:
        return None
    try:
        result = ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    if isinstance(result, bool | int | str):
        return result
    if isinstance(result, float) and math.isfinite(result):
        return result
    return None


def _symbols(value: ast.expr | None) -> tuple[str, ...] | None:
    if not isinstance(value, ast.Tuple | ast.List):
        return None
    try:
        items = ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    symbols = tuple(item.strip() for item in items if isinstance(item, str))
    if len(symbols) != len(items) or not 1 <= len(symbols) <= MAX_SYMBOLS or not all(symbols):
        return None
    return symbols
