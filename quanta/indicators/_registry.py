"""A registry of indicators with the metadata a UI needs (inputs, parameters, outputs, overlay).

Built-ins register themselves with :func:`indicator`; users do the same for their own functions::

    @indicator(family="custom", outputs=("spread",))
    def SPREAD(high, low, timeperiod=10):
        ...

    available_indicators(family="custom")  # ['SPREAD']
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

OVERLAY_FAMILIES = frozenset({"overlap", "price"})


@dataclass(frozen=True, kw_only=True)
class IndicatorSpec:
    """What the registry knows about one indicator."""

    name: str
    func: Callable[..., Any]
    family: str
    inputs: tuple[str, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    outputs: tuple[str, ...] = ("real",)
    overlay: bool = False
    description: str = ""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Compute the indicator."""
        return self.func(*args, **kwargs)

    def describe(self) -> dict[str, Any]:
        """JSON-friendly metadata (for the UI's indicator picker)."""
        return {
            "name": self.name,
            "family": self.family,
            "inputs": list(self.inputs),
            "params": dict(self.params),
            "outputs": list(self.outputs),
            "overlay": self.overlay,
            "description": self.description,
        }


_REGISTRY: dict[str, IndicatorSpec] = {}


def register_indicator(
    func: Callable[..., Any],
    *,
    name: str | None = None,
    family: str = "custom",
    outputs: tuple[str, ...] = ("real",),
    overlay: bool | None = None,
    replace: bool = False,
) -> IndicatorSpec:
    """Register ``func`` so it is listed and described like a built-in indicator.

    Positional parameters without a default are the input series; parameters with a default are
    the indicator's settings. ``overlay`` (drawn on the price chart) defaults from the family.
    """
    key = name or func.__name__
    if key in _REGISTRY and not replace:
        raise ValueError(f"indicator {key!r} is already registered (pass replace=True)")
    inputs, params = _split_signature(func)
    spec = IndicatorSpec(
        name=key,
        func=func,
        family=family,
        inputs=inputs,
        params=MappingProxyType(params),
        outputs=tuple(outputs),
        overlay=family in OVERLAY_FAMILIES if overlay is None else overlay,
        description=_summary(func),
    )
    _REGISTRY[key] = spec
    return spec


def indicator(
    *,
    name: str | None = None,
    family: str = "custom",
    outputs: tuple[str, ...] = ("real",),
    overlay: bool | None = None,
    replace: bool = False,
) -> Callable[[F], F]:
    """Decorator form of :func:`register_indicator`; returns the function unchanged."""

    def decorate(func: F) -> F:
        register_indicator(func, name=name, family=family, outputs=outputs, overlay=overlay, replace=replace)
        return func

    return decorate


def unregister_indicator(name: str) -> None:
    """Remove an indicator from the registry."""
    get_indicator(name)
    del _REGISTRY[name]


def get_indicator(name: str) -> IndicatorSpec:
    """The registered indicator called ``name`` (with a "did you mean" hint when misspelt)."""
    try:
        return _REGISTRY[name]
    except KeyError:
        hint = _did_you_mean(name)
        raise KeyError(f"unknown indicator {name!r}{hint}") from None


def available_indicators(family: str | None = None) -> list[str]:
    """Sorted names of registered indicators, optionally of one family."""
    return sorted(n for n, s in _REGISTRY.items() if family is None or s.family == family)


def indicator_families() -> list[str]:
    """Sorted names of the families that have at least one indicator."""
    return sorted({s.family for s in _REGISTRY.values()})


def _split_signature(func: Callable[..., Any]) -> tuple[tuple[str, ...], dict[str, Any]]:
    inputs: list[str] = []
    params: dict[str, Any] = {}
    for p in inspect.signature(func).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.default is p.empty:
            inputs.append(p.name)
        else:
            params[p.name] = p.default
    return tuple(inputs), params


def _summary(func: Callable[..., Any]) -> str:
    doc = inspect.getdoc(func) or ""
    return doc.split("\n\n", 1)[0].replace("\n", " ")


def _did_you_mean(name: str) -> str:
    import difflib  # noqa: PLC0415 - only needed on the error path

    close = difflib.get_close_matches(name.upper(), list(_REGISTRY), n=3)
    return f"; did you mean {', '.join(close)}?" if close else ""
