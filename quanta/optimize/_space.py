"""Parameter spaces: each parameter is a ``Range`` (evenly spaced, inclusive) or a list of values."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

Params: TypeAlias = dict[str, Any]
Constraint: TypeAlias = Callable[[Mapping[str, Any]], bool]
"""A predicate on a parameter dict, e.g. ``lambda p: p["fast"] < p["slow"]``."""

_ENUMERATE_LIMIT = 2_000_000
"""Spaces up to this size are enumerated to sample without replacement; larger ones by rejection."""


@dataclass(frozen=True, slots=True)
class Range:
    """``start`` to ``stop`` inclusive in steps of ``step``: ``Range(5, 50, 5)`` is 5, 10, …, 50.

    Integers stay integers; float values are rounded to 12 decimals so ``Range(0.1, 0.3, 0.1)``
    gives 0.1, 0.2, 0.3.
    """

    start: float
    stop: float
    step: float = 1

    def __post_init__(self) -> None:
        if not all(math.isfinite(v) for v in (self.start, self.stop, self.step)):
            raise ValueError(f"range bounds must be finite numbers, got {self}")
        if self.step <= 0:
            raise ValueError(f"range step must be positive, got {self.step}")
        if self.stop < self.start:
            raise ValueError(f"range stop {self.stop} is below its start {self.start}")

    @property
    def is_int(self) -> bool:
        """True when every value is an integer."""
        return all(isinstance(v, int) and not isinstance(v, bool) for v in (self.start, self.stop, self.step))

    def values(self) -> tuple[Any, ...]:
        """Every value of the range, in increasing order."""
        count = math.floor((self.stop - self.start) / self.step + 1e-9) + 1
        if self.is_int:
            return tuple(int(self.start + i * self.step) for i in range(count))
        return tuple(round(self.start + i * self.step, 12) for i in range(count))

    @property
    def last(self) -> Any:
        """The largest value actually reached (``stop`` rounded down to the step)."""
        return self.values()[-1]


SpaceSpec: TypeAlias = Mapping[str, Range | Sequence[Any] | Any]
"""What a search takes: parameter name → ``Range``, a list of values, or one fixed value."""


@dataclass(frozen=True, slots=True)
class Space:
    """A finite product of parameter values, enumerated like ``itertools.product`` (last name fastest)."""

    names: tuple[str, ...]
    choices: tuple[tuple[Any, ...], ...]
    ranges: tuple[Range | None, ...]

    @classmethod
    def of(cls, spec: SpaceSpec | Space) -> Space:
        """Normalise a spec; a plain value (not a list or ``Range``) is a fixed parameter."""
        if isinstance(spec, Space):
            return spec
        if not spec:
            raise ValueError("the parameter space is empty: give at least one parameter")
        names, choices, ranges = [], [], []
        for name, value in spec.items():
            rng = value if isinstance(value, Range) else None
            values = _values(name, value)
            names.append(name)
            choices.append(values)
            ranges.append(rng)
        return cls(tuple(names), tuple(choices), tuple(ranges))

    @property
    def size(self) -> int:
        """Number of combinations (before any constraint)."""
        return math.prod(len(c) for c in self.choices)

    def __iter__(self) -> Iterator[Params]:
        names = self.names
        for combo in itertools.product(*self.choices):
            yield dict(zip(names, combo, strict=True))

    def at(self, i: int) -> Params:
        """The ``i``-th combination of the enumeration."""
        out: list[Any] = []
        for values in reversed(self.choices):
            i, r = divmod(i, len(values))
            out.append(values[r])
        return dict(zip(self.names, reversed(out), strict=True))

    def valid(self, constraint: Constraint | None) -> Iterator[Params]:
        """Combinations that satisfy ``constraint``, in enumeration order."""
        return iter(self) if constraint is None else (p for p in self if constraint(p))

    def count(self, constraint: Constraint | None) -> int:
        """Number of combinations that satisfy ``constraint``."""
        if constraint is None:
            return self.size
        return sum(1 for _ in self.valid(constraint))

    def sample(self, n: int, *, seed: int, constraint: Constraint | None = None) -> list[Params]:
        """Up to ``n`` distinct combinations satisfying ``constraint``, drawn with a seeded RNG."""
        rng = random.Random(seed)  # noqa: S311 - reproducible sampling, not security
        if self.size <= _ENUMERATE_LIMIT:
            picks = [i for i, p in enumerate(self) if constraint is None or constraint(p)]
            return [self.at(i) for i in rng.sample(picks, min(n, len(picks)))]
        out: list[Params] = []
        seen: set[int] = set()
        for _ in range(max(1000, 100 * n)):
            if len(out) >= n:
                break
            i = rng.randrange(self.size)
            if i in seen:
                continue
            seen.add(i)
            params = self.at(i)
            if constraint is None or constraint(params):
                out.append(params)
        return out


def _values(name: str, value: Any) -> tuple[Any, ...]:
    if isinstance(value, Range):
        return value.values()
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        return (value,)
    values = tuple(value)
    if not values:
        raise ValueError(f"parameter {name!r} has no values")
    if len(set(map(repr, values))) != len(values):
        raise ValueError(f"parameter {name!r} repeats a value: {list(values)}")
    return values
