"""Parameter optimisation: grid, random and Bayesian search, and walk-forward analysis, on every core.

```python
from quanta.optimize import BacktestObjective, Range, grid_search

objective = BacktestObjective(strategy=SmaCross, data=df, options={"cash": 10_000}, maximize="Sharpe Ratio")
found = grid_search(objective, {"fast": Range(5, 50, 5), "slow": [20, 50, 100]},
                    constraint=lambda p: p["fast"] < p["slow"], progress=print)
found.best_params, found.best.result.stats, found.rows.head(), found.heatmap("fast", "slow")
```

Searches stream ``Row``s (parameters, score, a few scalar statistics) from the workers and keep only
the ``keep`` best full results. ``iter_grid`` exposes the stream itself.
"""

from quanta.optimize._constraint import ConstraintError, Expression, parse_constraint
from quanta.optimize._objective import (
    ROW_STATS,
    BacktestObjective,
    FunctionObjective,
    Maximize,
    Objective,
    Window,
    score,
    slice_market,
)
from quanta.optimize._parse import parse_params, parse_space, parse_value, split_assignment
from quanta.optimize._pool import Evaluations, Row, cpu_count
from quanta.optimize._search import (
    METHODS,
    Method,
    OptimizeResult,
    Progress,
    RowSink,
    Top,
    bayes_search,
    grid_search,
    heatmap,
    iter_grid,
    optimize,
    random_search,
    row_dict,
    rows_frame,
)
from quanta.optimize._sink import row_writer
from quanta.optimize._space import Constraint, Params, Range, Space, SpaceSpec
from quanta.optimize._walkforward import Fold, WalkForwardResult, walk_forward, windows

__all__ = [
    "METHODS",
    "ROW_STATS",
    "BacktestObjective",
    "Constraint",
    "ConstraintError",
    "Evaluations",
    "Expression",
    "Fold",
    "FunctionObjective",
    "Maximize",
    "Method",
    "Objective",
    "OptimizeResult",
    "Params",
    "Progress",
    "Range",
    "Row",
    "RowSink",
    "Space",
    "SpaceSpec",
    "Top",
    "WalkForwardResult",
    "Window",
    "bayes_search",
    "cpu_count",
    "grid_search",
    "heatmap",
    "iter_grid",
    "optimize",
    "parse_constraint",
    "parse_params",
    "parse_space",
    "parse_value",
    "random_search",
    "row_dict",
    "row_writer",
    "rows_frame",
    "score",
    "slice_market",
    "split_assignment",
    "walk_forward",
    "windows",
]
