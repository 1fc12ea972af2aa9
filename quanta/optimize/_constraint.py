"""Constraints written as small expressions (``"fast < slow"``), parsed with ``ast`` and never ``eval``-ed.

Allowed: parameter names, numbers, comparisons (chains too: ``5 <= fast < slow``), ``and``/``or``/``not``,
unary minus and ``+ - * /``. Anything else (calls, attributes, subscripts, strings) is rejected when
the expression is parsed. A division by zero makes the constraint false for that combination.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from quanta.engine.errors import did_you_mean

_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_ALLOWED = "parameter names, numbers, comparisons, and/or/not and + - * /"


class ConstraintError(ValueError):
    """A constraint expression uses something other than names, numbers and simple operators."""


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed constraint: call it with a parameter dict to test a combination."""

    text: str
    tree: ast.expr = field(repr=False)

    def __call__(self, params: Mapping[str, Any]) -> bool:
        try:
            return bool(_eval(self.tree, params))
        except ZeroDivisionError:
            return False


def parse_constraint(text: str, names: Collection[str]) -> Expression:
    """Parse ``text`` into an ``Expression`` over the parameter ``names``."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ConstraintError(f"constraint {text!r} is not a valid expression ({exc.msg})") from None
    for node in ast.walk(tree):
        _check(node, text, names)
    return Expression(text, tree)


def _check(node: ast.AST, text: str, names: Collection[str]) -> None:
    if isinstance(node, ast.Name):
        if node.id not in names:
            hint = did_you_mean(node.id, names)
            known = ", ".join(names)
            raise ConstraintError(
                f"constraint {text!r}: unknown parameter {node.id!r}.{hint} Parameters: {known}."
            )
        return
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int | float):
            raise ConstraintError(f"constraint {text!r}: only numbers are allowed, not {node.value!r}")
        return
    allowed = (
        ast.Compare,
        ast.BoolOp,
        ast.UnaryOp,
        ast.BinOp,
        ast.Load,
        ast.And,
        ast.Or,
        ast.Not,
        ast.USub,
        ast.UAdd,
        *_COMPARE,
        *_BINARY,
    )
    if not isinstance(node, allowed):
        raise ConstraintError(f"constraint {text!r} may only use {_ALLOWED}; found {type(node).__name__}")


def _eval(node: ast.expr, params: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Name | ast.Constant):
        return params[node.id] if isinstance(node, ast.Name) else node.value
    if isinstance(node, ast.BoolOp):
        values = (_eval(v, params) for v in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, params)
        if isinstance(node.op, ast.Not):
            return not value
        return -value if isinstance(node.op, ast.USub) else +value
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_eval(node.left, params), _eval(node.right, params))
    if isinstance(node, ast.Compare):
        return _compare(node, params)
    raise ConstraintError(f"unsupported expression {type(node).__name__}")


def _compare(node: ast.Compare, params: Mapping[str, Any]) -> bool:
    left = _eval(node.left, params)
    for op, right_node in zip(node.ops, node.comparators, strict=True):
        right = _eval(right_node, params)
        if not _COMPARE[type(op)](left, right):
            return False
        left = right
    return True
