"""Strategies the API can run: the bundled examples for now (own and public strategies come with the
workspace)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

from pydantic import BaseModel

from quanta.examples import Example, catalog
from quanta.loading import load_strategy
from quanta.runs import json_value
from quanta.strategy import Strategy

EXAMPLE_PREFIX = "example:"


class StrategyPublic(BaseModel):
    """A strategy as listed: where it comes from, what it does, its parameters and default symbols."""

    id: str
    name: str
    title: str
    description: str
    source: Literal["bundled", "own", "public"]
    class_name: str
    symbols: list[str]
    params: dict[str, Any]


class StrategyDetail(StrategyPublic):
    """A strategy with its Python code."""

    code: str


def bundled_strategies() -> list[StrategyDetail]:
    """Every bundled example, by name."""
    return list(_bundled())


def bundled_strategy(name: str) -> tuple[Example, type[Strategy]] | None:
    """The example called ``name`` and its strategy class, or None."""
    for item in catalog():
        if item.name == name:
            return item, load_strategy(item.path, item.class_name)
    return None


def example_names() -> list[str]:
    """The names of the bundled examples."""
    return [item.name for item in catalog()]


@lru_cache(maxsize=1)
def _bundled() -> tuple[StrategyDetail, ...]:
    return tuple(_describe(item) for item in catalog())


def _describe(item: Example) -> StrategyDetail:
    strategy = load_strategy(item.path, item.class_name)
    return StrategyDetail(
        id=EXAMPLE_PREFIX + item.name,
        name=item.name,
        title=item.title,
        description=item.description,
        source="bundled",
        class_name=item.class_name,
        symbols=list(item.symbols),
        params={name: json_value(value) for name, value in strategy.params().items()},
        code=item.path.read_text(encoding="utf-8"),
    )
