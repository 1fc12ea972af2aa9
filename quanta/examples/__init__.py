"""Example strategies bundled with Quanta: ordinary strategy files to run, read and copy.

``catalog()`` lists them; ``quanta backtest`` runs any of them by path, on its default symbols.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True, slots=True, kw_only=True)
class Example:
    """One bundled example: its name (the file's stem), title and description (from the docstring's
    ``Title: summary`` first line and the paragraphs after it), file, class and default symbols."""

    name: str
    title: str
    description: str
    path: Path
    class_name: str
    symbols: tuple[str, ...]


def catalog() -> list[Example]:
    """Every bundled example, by name."""
    return [_describe(path) for path in sorted(HERE.glob("*.py")) if not path.name.startswith("_")]


def example(name: str) -> Example:
    """The example called ``name`` (a file stem such as ``"sma_cross"``)."""
    for item in catalog():
        if item.name == name:
            return item
    known = ", ".join(e.name for e in catalog())
    raise KeyError(f"no example {name!r}; examples: {known}")


def _describe(path: Path) -> Example:
    """Read the docstring, the strategy class and ``SYMBOLS`` without importing the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    doc = ast.get_docstring(tree) or path.stem
    first, _, rest = doc.partition("\n")
    title, _, summary = first.partition(": ")
    description = f"{summary[:1].upper()}{summary[1:]} {rest}"
    classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
    symbols: tuple[str, ...] = ()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "SYMBOLS" for t in node.targets
        ):
            symbols = tuple(ast.literal_eval(node.value))
    return Example(
        name=path.stem,
        title=title.strip(),
        description=" ".join(description.split()),
        path=path,
        class_name=classes[-1] if classes else "",
        symbols=symbols,
    )
