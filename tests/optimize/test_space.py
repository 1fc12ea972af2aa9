"""Parameter spaces, text parsing of parameters and constraints."""

from __future__ import annotations

import pytest

from quanta.engine import ParameterError
from quanta.optimize import ConstraintError, Range, Space, parse_constraint, parse_params, parse_space
from quanta.testing.strategies import SmaCross


def test_range_is_inclusive_and_keeps_integers() -> None:
    assert Range(5, 50, 5).values() == (5, 10, 15, 20, 25, 30, 35, 40, 45, 50)
    assert Range(5, 52, 5).values()[-1] == 50
    assert all(isinstance(v, int) for v in Range(1, 3).values())


def test_float_range_has_no_rounding_noise() -> None:
    assert Range(0.1, 0.3, 0.1).values() == (0.1, 0.2, 0.3)


@pytest.mark.parametrize(("start", "stop", "step"), [(5, 1, 1), (1, 5, 0), (1, 5, -1)])
def test_bad_range_is_rejected(start: int, stop: int, step: int) -> None:
    with pytest.raises(ValueError, match="range"):
        Range(start, stop, step)


def test_space_enumerates_like_product_and_indexes_the_same_way() -> None:
    space = Space.of({"a": [1, 2], "b": Range(10, 30, 10), "c": "fixed"})
    combos = list(space)
    assert space.size == len(combos) == 6
    assert combos[0] == {"a": 1, "b": 10, "c": "fixed"}
    assert combos[1] == {"a": 1, "b": 20, "c": "fixed"}
    assert [space.at(i) for i in range(space.size)] == combos


def test_space_counts_combinations_satisfying_a_constraint() -> None:
    space = Space.of({"fast": Range(1, 10), "slow": Range(1, 10)})
    assert space.count(lambda p: p["fast"] < p["slow"]) == 45


def test_sample_is_seeded_distinct_and_constrained() -> None:
    space = Space.of({"fast": Range(1, 50), "slow": Range(1, 50)})
    rule = parse_constraint("fast < slow", space.names)
    first = space.sample(30, seed=7, constraint=rule)
    assert first == space.sample(30, seed=7, constraint=rule)
    assert first != space.sample(30, seed=8, constraint=rule)
    assert len({tuple(p.values()) for p in first}) == 30
    assert all(p["fast"] < p["slow"] for p in first)


def test_sample_of_a_huge_space_draws_without_enumerating() -> None:
    space = Space.of({f"p{i}": Range(1, 100) for i in range(5)})  # 10^10 combinations
    picks = space.sample(20, seed=1)
    assert len(picks) == 20
    assert picks == space.sample(20, seed=1)


def test_sample_returns_fewer_when_the_space_is_small() -> None:
    assert len(Space.of({"a": [1, 2, 3]}).sample(10, seed=0)) == 3


def test_parse_space_types_values_by_the_strategy_defaults() -> None:
    space = parse_space(SmaCross, ["fast=5:50:5", "slow=10,20,50"])
    assert space == {"fast": Range(5, 50, 5), "slow": [10, 20, 50]}
    assert parse_params(SmaCross, ["fast=7"]) == {"fast": 7}


def test_misspelt_parameter_gets_the_engines_hint() -> None:
    with pytest.raises(ParameterError, match="Did you mean: fast"):
        parse_space(SmaCross, ["fsat=1:3"])


def test_mistyped_parameter_value_is_refused() -> None:
    with pytest.raises(ParameterError, match="expects int"):
        parse_params(SmaCross, ["fast=1.5"])


def test_constraint_supports_comparisons_arithmetic_and_logic() -> None:
    rule = parse_constraint("fast < slow and not (slow - fast < 5) or fast * 2 == slow / 1", ["fast", "slow"])
    assert rule({"fast": 5, "slow": 20})
    assert not rule({"fast": 5, "slow": 7})
    assert rule({"fast": 6, "slow": 12})
    chained = parse_constraint("2 <= fast < slow <= 100", ["fast", "slow"])
    assert chained({"fast": 2, "slow": 3})
    assert not chained({"fast": 1, "slow": 3})


def test_constraint_dividing_by_zero_is_false() -> None:
    assert not parse_constraint("fast / slow < 1", ["fast", "slow"])({"fast": 1, "slow": 0})


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "fast.real < 3",
        "fast[0] < 3",
        "'a' < fast",
        "lambda: 1",
        "fast ** 2 < slow",
        "[fast][0]",
        "True",
    ],
)
def test_constraint_refuses_anything_but_simple_expressions(text: str) -> None:
    with pytest.raises(ConstraintError):
        parse_constraint(text, ["fast", "slow"])


def test_constraint_with_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(ConstraintError, match="Did you mean: slow"):
        parse_constraint("fast < slwo", ["fast", "slow"])
