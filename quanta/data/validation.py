"""The rules a stored bar obeys, checked on a whole polars frame at once.

A frame here has the bars columns parsed (``ts`` datetime, prices and volume float64) and may hold
several symbols sorted by ``(symbol, ts)``. ``problems`` explains the first few broken rules by row;
``drop_invalid`` removes the rows that break any rule and counts them per rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

PRICE_COLUMNS = ("open", "high", "low", "close")
REQUIRED_COLUMNS = ("ts", *PRICE_COLUMNS, "volume")
MAX_REPORTED = 5


@dataclass(frozen=True)
class Rule:
    """One invariant: ``broken`` is true on rows that violate it; ``explain`` words one such row."""

    name: str
    broken: Callable[[], pl.Expr]
    explain: Callable[[pl.DataFrame, int], str]


@dataclass(frozen=True, order=True)
class Problem:
    """One broken rule in one row (1-based, header not counted)."""

    row: int
    message: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.message}"


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def _cell(frame: pl.DataFrame, column: str, index: int) -> object:
    return frame[column][index]


def _missing_rule(column: str) -> Rule:
    return Rule(
        name=f"{column} missing",
        broken=lambda: pl.col(column).is_null(),
        explain=lambda f, i: f"{_label(column)} is missing",
    )


def _label(column: str) -> str:
    return "timestamp" if column == "ts" else column


def _positive_rule(column: str) -> Rule:
    return Rule(
        name=f"{column} not positive",
        broken=lambda: ~(pl.col(column).is_finite() & (pl.col(column) > 0)),
        explain=lambda f, i: (
            f"{column} {_fmt(_cell(f, column, i))} is not a positive number "
            "(prices must be positive and finite)"
        ),
    )


def _prices_valid() -> pl.Expr:
    """OHLC relations are only judged once every price is a positive number."""
    return pl.all_horizontal([pl.col(c).is_finite() & (pl.col(c) > 0) for c in PRICE_COLUMNS])


def _high_explain(frame: pl.DataFrame, i: int) -> str:
    other = "close" if _cell(frame, "close", i) >= _cell(frame, "open", i) else "open"  # type: ignore[operator]
    high, bound = _fmt(_cell(frame, "high", i)), _fmt(_cell(frame, other, i))
    return f"high {high} is below {other} {bound} (high must be ≥ max(open, close))"


def _low_explain(frame: pl.DataFrame, i: int) -> str:
    other = "close" if _cell(frame, "close", i) <= _cell(frame, "open", i) else "open"  # type: ignore[operator]
    low, bound = _fmt(_cell(frame, "low", i)), _fmt(_cell(frame, other, i))
    return f"low {low} is above {other} {bound} (low must be ≤ min(open, close))"


def _order_explain(frame: pl.DataFrame, i: int) -> str:
    ts, previous = frame["ts"][i], frame["ts"][i - 1]
    if ts == previous:
        return f"timestamp {ts} repeats the row before (timestamps must be unique)"
    return f"timestamp {ts} is before the row before's {previous} (timestamps must be sorted ascending)"


MISSING_RULES = tuple(_missing_rule(c) for c in REQUIRED_COLUMNS)

VALUE_RULES = (
    *(_positive_rule(c) for c in PRICE_COLUMNS),
    Rule(
        name="volume negative",
        broken=lambda: ~(pl.col("volume").is_finite() & (pl.col("volume") >= 0)),
        explain=lambda f, i: f"volume {_fmt(_cell(f, 'volume', i))} is not a number ≥ 0 (volume must be ≥ 0)",
    ),
    Rule(
        name="high below open/close",
        broken=lambda: _prices_valid() & (pl.col("high") < pl.max_horizontal("open", "close")),
        explain=_high_explain,
    ),
    Rule(
        name="low above open/close",
        broken=lambda: _prices_valid() & (pl.col("low") > pl.min_horizontal("open", "close")),
        explain=_low_explain,
    ),
    Rule(
        name="timestamps not increasing",
        broken=lambda: (
            (pl.col("symbol") == pl.col("symbol").shift(1)) & (pl.col("ts") <= pl.col("ts").shift(1))
        ),
        explain=_order_explain,
    ),
)


def _broken(rule: Rule) -> pl.Expr:
    return rule.broken().fill_null(value=False)


def count_broken(frame: pl.DataFrame, rules: tuple[Rule, ...]) -> dict[str, int]:
    """How many rows break each rule (rules nobody breaks are left out)."""
    counts = frame.select(_broken(r).sum().alias(r.name) for r in rules).row(0, named=True)
    return {name: int(n) for name, n in counts.items() if n}


def problems(
    frame: pl.DataFrame, rules: tuple[Rule, ...], limit: int = MAX_REPORTED
) -> tuple[list[Problem], int]:
    """The first ``limit`` violations by row (rows are 1-based), and the total count."""
    hits: list[tuple[int, int]] = []
    total = 0
    for order, rule in enumerate(rules):
        rows = frame.select(pl.arg_where(_broken(rule))).to_series()
        total += len(rows)
        hits.extend((int(i), order) for i in rows.head(limit))
    hits.sort()
    return [Problem(i + 1, rules[order].explain(frame, i)) for i, order in hits[:limit]], total


def drop_invalid(frame: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, int]]:
    """The rows that obey every rule, and how many rows broke each rule.

    A row breaking several rules counts once per rule but is dropped once.
    """
    rules = (*MISSING_RULES, *VALUE_RULES)
    counts = count_broken(frame, rules)
    if not counts:
        return frame, {}
    any_broken = pl.any_horizontal([_broken(r) for r in rules])
    return frame.filter(~any_broken), counts
