"""Reading a strategy's classes, parameters and default symbols from its source without running it."""

from __future__ import annotations

import textwrap

import pytest

from quanta.examples import catalog
from quanta.workspace import StrategyClassInfo, default_symbols, strategy_classes
from quanta.workspace.errors import InvalidSource


def classes(source: str) -> list[StrategyClassInfo]:
    return strategy_classes(textwrap.dedent(source))


def test_every_bundled_example_gives_its_class_and_the_parameters_the_engine_sees() -> None:
    for example in catalog():
        source = example.path.read_text(encoding="utf-8")
        namespace: dict[str, object] = {}
        exec(compile(source, str(example.path), "exec"), namespace)  # our own examples
        strategy = namespace[example.class_name]

        found = strategy_classes(source)

        assert [info.name for info in found] == [example.class_name]
        assert found[0].params == strategy.params()  # type: ignore[attr-defined]
        assert default_symbols(source) == example.symbols


def test_literal_class_attributes_are_parameters_with_their_types() -> None:
    (info,) = classes(
        """
        from quanta import Strategy

        class Mixed(Strategy):
            fast = 10
            threshold = -0.5
            ratio: float = 1e-3
            long_only = True
            label = "trend"
            a = b = 3

            def init(self):
                self.local = 99
        """
    )
    assert info.name == "Mixed"
    assert info.line == 4
    assert info.params == {
        "fast": 10,
        "threshold": -0.5,
        "ratio": 0.001,
        "long_only": True,
        "label": "trend",
        "a": 3,
        "b": 3,
    }
    assert type(info.params["long_only"]) is bool
    assert type(info.params["fast"]) is int


def test_non_literal_private_and_non_scalar_values_are_not_parameters() -> None:
    (info,) = classes(
        """
        import math
        from quanta import Strategy

        class Odd(Strategy):
            fast = 10
            slow = fast * 2
            window = int("5")
            levels = (1, 2, 3)
            weights = {"a": 1}
            nothing = None
            _private = 3
            __mangled = 4
            infinite = 1e999
            period: int
            constant = math.pi

            @property
            def size(self):
                return 1
        """
    )
    assert info.params == {"fast": 10}


def test_a_name_rebound_later_in_the_class_keeps_its_last_meaning() -> None:
    (info,) = classes(
        """
        from quanta import Strategy

        class Rebound(Strategy):
            fast = 10
            fast = 12
            slow = 30
            slow = compute()
            stop = 0.1

            def stop(self):
                pass
        """
    )
    assert info.params == {"fast": 12}


def test_several_classes_come_in_source_order_and_subclasses_inherit_parameters() -> None:
    found = classes(
        """
        import quanta
        from quanta import Strategy as Base
        from quanta.strategy import Strategy

        class Helper:
            size = 1

        class Trend(quanta.Strategy):
            fast = 10
            slow = 30

        class Faster(Trend):
            fast = 5
            stop = 0.02

        class Aliased(Base):
            window = 20

        class Plain(Strategy):
            pass

        class NotAStrategy(Helper):
            level = 3
        """
    )
    assert [(info.name, info.params) for info in found] == [
        ("Trend", {"fast": 10, "slow": 30}),
        ("Faster", {"fast": 5, "slow": 30, "stop": 0.02}),
        ("Aliased", {"window": 20}),
        ("Plain", {}),
    ]


def test_classes_inside_functions_or_conditions_are_not_read() -> None:
    found = classes(
        """
        from quanta import Strategy

        def make():
            class Hidden(Strategy):
                fast = 1
            return Hidden

        if True:
            class Conditional(Strategy):
                slow = 2
        """
    )
    assert found == []


def test_a_syntax_error_names_its_line_and_column() -> None:
    with pytest.raises(InvalidSource) as raised:
        strategy_classes("from quanta import Strategy\n\nclass Broken(Strategy:\n    fast = 1\n")
    assert raised.value.line == 3
    assert raised.value.column is not None
    assert str(raised.value).startswith("Line 3, column")


def test_sources_that_are_not_python_or_too_big_are_invalid() -> None:
    with pytest.raises(InvalidSource):
        strategy_classes("x = 1\0")
    with pytest.raises(InvalidSource, match="limit is 200,000 bytes"):
        strategy_classes("# " + "x" * 200_000)


def test_invalid_escapes_parse_without_a_warning() -> None:
    (info,) = classes(
        r"""
        from quanta import Strategy

        class Escaped(Strategy):
            pattern = "\d+"
        """
    )
    assert info.params == {"pattern": "\\d+"}


def test_the_source_is_never_run() -> None:
    found = classes(
        """
        raise SystemExit("this must not run")
        from quanta import Strategy

        class Safe(Strategy):
            fast = __import__("os").system("false")
            slow = 5
        """
    )
    assert [(info.name, info.params) for info in found] == [("Safe", {"slow": 5})]


@pytest.mark.parametrize(
    ("assignment", "expected"),
    [
        ('SYMBOLS = ("GOOG",)', ("GOOG",)),
        ('SYMBOLS = ["KO", " PEP "]', ("KO", "PEP")),
        ('SYMBOLS = ("A",)\nSYMBOLS = ("B", "C")', ("B", "C")),
        ('SYMBOLS = "GOOG"', None),
        ("SYMBOLS = ()", None),
        ('SYMBOLS = ("GOOG", 1)', None),
        ('SYMBOLS = ("GOOG", "")', None),
        ("SYMBOLS = tuple(load())", None),
        ("SYMBOLS = " + repr(tuple(f"S{i}" for i in range(11))), None),
        ("FAST = 1", None),
        ("SYMBOLS = (", None),
    ],
)
def test_default_symbols_are_a_literal_tuple_or_list_of_symbols(
    assignment: str, expected: tuple[str, ...] | None
) -> None:
    assert default_symbols(assignment + "\n") == expected
