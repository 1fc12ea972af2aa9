"""Grid, random and Bayesian (optuna TPE) search over a parameter space.

Every method streams ``Row``s (parameter set, score, kept statistics); ``collect`` keeps the scalar
rows (optionally) and only the ``keep`` best parameter sets, whose full results are recomputed at the
end. Results are deterministic for a fixed seed, whatever the number of workers.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from quanta.optimize._bayes import bayes_rows
from quanta.optimize._objective import Objective, Window, rank_key
from quanta.optimize._pool import Evaluations, Row, Tick
from quanta.optimize._space import Constraint, Params, Space, SpaceSpec

Method = Literal["grid", "random", "bayes"]
METHODS: tuple[Method, ...] = ("grid", "random", "bayes")
Progress = Callable[[int, int], None]
"""``progress(done, total)``: called as evaluations complete."""
RowSink = Callable[[Row], None]
"""Receives every row as it is evaluated (e.g. to write it to a file)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Top:
    """One of the best parameter sets, with its full result."""

    params: Params
    score: float
    stats: dict[str, float]
    result: Any


@dataclass(frozen=True, kw_only=True, eq=False)
class OptimizeResult:
    """What a search found. ``rows`` has one row per evaluated parameter set, best first:
    the parameters, ``score`` and the kept statistics (empty when rows were not kept)."""

    method: str
    maximize: str
    names: tuple[str, ...]
    rows: pd.DataFrame
    top: tuple[Top, ...]
    evaluated: int
    seed: int | None = None

    @property
    def best(self) -> Top:
        """The best parameter set."""
        if not self.top:
            raise ValueError("no parameter set was evaluated (is the constraint satisfiable?)")
        return self.top[0]

    @property
    def best_params(self) -> Params:
        """Parameters of the best set."""
        return self.best.params

    def heatmap(self, x: str, y: str, value: str = "score") -> pd.DataFrame:
        """``value`` over two parameters (see ``heatmap``)."""
        return heatmap(self.rows, x=x, y=y, value=value)

    def to_dict(self, limit: int = 20) -> dict[str, Any]:
        """JSON-able summary: the method, counts and the ``limit`` best rows."""
        return {
            "method": self.method,
            "maximize": self.maximize,
            "evaluated": self.evaluated,
            "seed": self.seed,
            "best_params": self.best_params if self.top else None,
            "top": [
                row_dict({str(k): v for k, v in r.items()}, self.names)
                for r in self.rows.head(limit).to_dict("records")
            ],
        }


def row_dict(record: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """A rows-frame record as ``{"params", "score", "stats"}`` with NaN as None."""

    def clean(v: Any) -> Any:
        return None if isinstance(v, float) and math.isnan(v) else v

    params = {n: _plain(record[n]) for n in names}
    stats = {k: clean(v) for k, v in record.items() if k not in names and k not in ("index", "score")}
    return {"params": params, "score": clean(record["score"]), "stats": stats}


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def heatmap(rows: pd.DataFrame | Iterable[Row], *, x: str, y: str, value: str = "score") -> pd.DataFrame:
    """A pivot of ``value`` with ``y`` down the rows and ``x`` across (the max over other parameters)."""
    frame = rows if isinstance(rows, pd.DataFrame) else rows_frame(list(rows))
    for name in (x, y, value):
        if name not in frame.columns:
            raise KeyError(f"no column {name!r}; have {list(frame.columns)}")
    pivot = frame.pivot_table(index=y, columns=x, values=value, aggfunc="max", dropna=False)
    return pivot.sort_index().sort_index(axis=1)


def rows_frame(rows: list[Row]) -> pd.DataFrame:
    """Rows as a frame: ``index``, the parameters, ``score`` and the kept statistics."""
    records = [{"index": r.index, **r.params, "score": r.score, **r.stats} for r in rows]
    return pd.DataFrame.from_records(records)


class _Collector:
    """Keeps scalar rows (column lists) and a heap of the ``keep`` best rows."""

    def __init__(self, *, keep: int, keep_rows: bool, sink: RowSink | None) -> None:
        self.keep, self.keep_rows, self.sink = keep, keep_rows, sink
        self.columns: dict[str, list[Any]] = {}
        self.best: list[tuple[float, int, Row]] = []
        self.count = 0

    def add(self, row: Row) -> None:
        self.count += 1
        if self.sink is not None:
            self.sink(row)
        if self.keep_rows:
            self._append({"index": row.index, **row.params, "score": row.score, **row.stats})
        item = (rank_key(row.score), -row.index, row)
        if len(self.best) < self.keep:
            heapq.heappush(self.best, item)
        elif item[:2] > self.best[0][:2]:
            heapq.heapreplace(self.best, item)

    def _append(self, record: dict[str, Any]) -> None:
        n = self.count - 1
        for key, value in record.items():
            column = self.columns.get(key)
            if column is None:
                column = self.columns[key] = [math.nan] * n
            column.append(value)
        for column in self.columns.values():
            if len(column) == n:
                column.append(math.nan)

    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.columns)
        if frame.empty:
            return frame
        frame["_rank"] = frame["score"].fillna(-math.inf)
        frame = frame.sort_values(["_rank", "index"], ascending=[False, True], kind="stable")
        return frame.drop(columns="_rank").reset_index(drop=True)

    def top(self) -> list[Row]:
        return [row for _, _, row in sorted(self.best, key=lambda t: (-t[0], -t[1]))]


def collect(
    rows: Iterable[Row],
    *,
    objective: Objective,
    method: str,
    names: tuple[str, ...],
    keep: int = 3,
    keep_rows: bool = True,
    sink: RowSink | None = None,
    window: Window | None = None,
    seed: int | None = None,
    materialize: bool = True,
) -> OptimizeResult:
    """Consume a row stream into an ``OptimizeResult``, recomputing the ``keep`` best full results
    (``materialize=False`` leaves ``Top.result`` as None)."""
    collector = _Collector(keep=max(1, keep), keep_rows=keep_rows, sink=sink)
    for row in rows:
        collector.add(row)
    best = collector.top()[:keep]
    top = tuple(
        Top(
            params=r.params,
            score=r.score,
            stats=r.stats,
            result=objective.run(r.params, window) if materialize else None,
        )
        for r in best
    )
    frame = collector.frame() if keep_rows else rows_frame(best)
    return OptimizeResult(
        method=method,
        maximize=objective.label,
        names=names,
        rows=frame,
        top=top,
        evaluated=collector.count,
        seed=seed,
    )


_COUNT_LIMIT = 5_000_000
"""Larger grids report their unconstrained size as the progress total instead of counting first."""


_LIST_LIMIT = 100_000
"""Grids up to this size are enumerated once, into a list, rather than counted and then streamed."""


def _grid_total(space: Space, constraint: Constraint | None) -> int:
    return space.count(constraint) if space.size <= _COUNT_LIMIT else space.size


def _grid(space: Space, constraint: Constraint | None) -> tuple[Iterable[Params], int]:
    """The valid combinations of a grid and how many there are (the progress total)."""
    if space.size <= _LIST_LIMIT:
        combos = list(space.valid(constraint))
        return combos, len(combos)
    return space.valid(constraint), _grid_total(space, constraint)


def search_rows(
    pool: Evaluations,
    space: Space,
    *,
    method: Method,
    trials: int | None,
    seed: int,
    constraint: Constraint | None,
    window: Window | None,
    tick: Tick | None,
    total_known: Callable[[int], None] | None = None,
) -> Iterator[Row]:
    """The row stream of one search on ``pool`` (``total_known`` learns the number of evaluations)."""
    if method == "grid":
        combos, total = _grid(space, constraint)
        if total_known:
            total_known(total)
        return pool.stream(combos, window=window, total=total, tick=tick)
    if trials is None or trials < 1:
        raise ValueError(f"{method} search needs trials >= 1, got {trials}")
    if method == "random":
        combos = space.sample(trials, seed=seed, constraint=constraint)
        if total_known:
            total_known(len(combos))
        return pool.stream(combos, window=window, total=len(combos), tick=tick)
    if method == "bayes":
        if total_known:
            total_known(trials)
        return bayes_rows(
            pool, space, trials=trials, seed=seed, constraint=constraint, window=window, tick=tick
        )
    raise ValueError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")


def optimize(
    objective: Objective,
    space: SpaceSpec | Space,
    *,
    method: Method = "grid",
    trials: int | None = None,
    seed: int = 0,
    constraint: Constraint | None = None,
    workers: int | None = None,
    keep: int = 3,
    keep_rows: bool = True,
    sink: RowSink | None = None,
    progress: Progress | None = None,
    start_method: str | None = None,
) -> OptimizeResult:
    """Search ``space`` for the parameters that maximise ``objective``.

    ``method`` is ``"grid"`` (every combination satisfying ``constraint``), ``"random"`` (``trials``
    distinct combinations drawn with ``seed``) or ``"bayes"`` (``trials`` evaluations proposed by
    optuna's TPE sampler seeded with ``seed``). ``progress(done, total)`` reports as evaluations
    complete; ``sink`` receives every row as it comes; ``keep_rows=False`` keeps only the best.
    """
    space = Space.of(space)
    check = getattr(objective, "check", None)
    if callable(check):
        check(space.at(0))
    counter = _Counter(progress)
    with Evaluations(objective, workers=workers, start_method=start_method) as pool:
        rows = search_rows(
            pool,
            space,
            method=method,
            trials=trials,
            seed=seed,
            constraint=constraint,
            window=None,
            tick=counter.tick,
            total_known=counter.set_total,
        )
        found = collect(
            rows,
            objective=objective,
            method=method,
            names=space.names,
            keep=keep,
            keep_rows=keep_rows,
            sink=sink,
            seed=None if method == "grid" else seed,
        )
    counter.finish()
    return found


def grid_search(objective: Objective, space: SpaceSpec | Space, **kwargs: Any) -> OptimizeResult:
    """Every combination of ``space`` (that satisfies ``constraint=``); options as ``optimize``."""
    return optimize(objective, space, method="grid", **kwargs)


def random_search(
    objective: Objective, space: SpaceSpec | Space, *, trials: int, seed: int = 0, **kwargs: Any
) -> OptimizeResult:
    """``trials`` distinct combinations drawn with ``seed``; options as ``optimize``."""
    return optimize(objective, space, method="random", trials=trials, seed=seed, **kwargs)


def bayes_search(
    objective: Objective, space: SpaceSpec | Space, *, trials: int, seed: int = 0, **kwargs: Any
) -> OptimizeResult:
    """``trials`` evaluations proposed by optuna's seeded TPE sampler; options as ``optimize``."""
    return optimize(objective, space, method="bayes", trials=trials, seed=seed, **kwargs)


def iter_grid(
    objective: Objective,
    space: SpaceSpec | Space,
    *,
    constraint: Constraint | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    start_method: str | None = None,
) -> Generator[Row, None, None]:
    """Stream the rows of a grid search as they are evaluated (in enumeration order)."""
    space = Space.of(space)
    counter = _Counter(progress)
    with Evaluations(objective, workers=workers, start_method=start_method) as pool:
        counter.set_total(_grid_total(space, constraint))
        yield from pool.stream(space.valid(constraint), total=counter.total, tick=counter.tick)


class _Counter:
    """Turns per-chunk ticks into ``progress(done, total)`` calls."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.done = 0
        self.total = 0

    def set_total(self, total: int) -> None:
        self.total += total
        if self.progress is not None:
            self.progress(self.done, self.total)

    def tick(self, n: int) -> None:
        self.done += n
        if self.progress is not None:
            self.progress(self.done, max(self.total, self.done))

    def finish(self) -> None:
        """Report completion when fewer evaluations ran than announced (an exhausted space)."""
        if self.progress is not None and self.done < self.total:
            self.progress(self.done, self.done)
