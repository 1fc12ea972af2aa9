"""Bayesian search with optuna's TPE sampler, evaluated in fixed-size batches on the worker pool.

Numeric ``Range``s become integer or float distributions with their step; lists of values become
categorical. A proposal that breaks the constraint is told to optuna as pruned (TPE ranks pruned
trials below every completed one, steering away from them) and does not count as a trial; a proposal
already evaluated gets its known score. The batch size is fixed, so a seed gives the same search on
any number of cores.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator
from typing import Any

from quanta.optimize._objective import Window
from quanta.optimize._pool import Evaluations, Row, Tick
from quanta.optimize._space import Constraint, Params, Space

BATCH = 8
_MAX_ASKS_PER_TRIAL = 50


@contextlib.contextmanager
def _quiet_optuna() -> Iterator[Any]:
    import optuna  # noqa: PLC0415 - optional, heavy import

    logger = logging.getLogger("optuna")
    level = logger.level
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield optuna
    finally:
        logger.setLevel(level)


def _distributions(optuna: Any, space: Space) -> dict[str, Any]:
    dists = optuna.distributions
    out: dict[str, Any] = {}
    for name, values, rng in zip(space.names, space.choices, space.ranges, strict=True):
        if len(values) == 1 or rng is None:
            out[name] = dists.CategoricalDistribution(values)
        elif rng.is_int:
            out[name] = dists.IntDistribution(int(rng.start), int(rng.last), step=int(rng.step))
        else:
            out[name] = dists.FloatDistribution(float(rng.start), float(rng.last), step=float(rng.step))
    return out


def _snap(space: Space, raw: dict[str, Any]) -> Params:
    """Optuna's proposal mapped onto the space's own values (float steps can drift by an ulp)."""
    out: Params = {}
    for name, values, rng in zip(space.names, space.choices, space.ranges, strict=True):
        value = raw[name]
        if rng is not None and not rng.is_int and len(values) > 1:
            value = min(values, key=lambda v: abs(v - value))
        out[name] = value
    return out


def _key(params: Params) -> tuple[Any, ...]:
    return tuple(sorted((k, repr(v)) for k, v in params.items()))


def bayes_rows(
    pool: Evaluations,
    space: Space,
    *,
    trials: int,
    seed: int,
    constraint: Constraint | None,
    window: Window | None,
    tick: Tick | None,
    batch: int = BATCH,
) -> Iterator[Row]:
    """Rows of up to ``trials`` distinct evaluations, in the order optuna proposed them."""
    with _quiet_optuna() as optuna:
        sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(1, trials // 3)))
        study = optuna.create_study(direction="maximize", sampler=sampler)
        dists = _distributions(optuna, space)
        limit = space.count(constraint) if space.size <= 200_000 else trials
        scores: dict[tuple[Any, ...], float] = {}
        asks, evaluated = 0, 0
        while evaluated < min(trials, limit) and asks < trials * _MAX_ASKS_PER_TRIAL:
            want = min(batch, trials - evaluated, limit - evaluated)
            proposals, asks = _propose(
                optuna,
                study=study,
                dists=dists,
                space=space,
                constraint=constraint,
                scores=scores,
                want=want,
                asks=asks,
            )
            fresh = list({_key(p): p for _, p in proposals if _key(p) not in scores}.values())
            for row in pool.stream(fresh, window=window, total=len(fresh), start=evaluated, tick=tick):
                scores[_key(row.params)] = row.score
                evaluated += 1
                yield row
            for trial, params in proposals:
                study.tell(trial, _told(scores[_key(params)]))


def _propose(
    optuna: Any,
    *,
    study: Any,
    dists: dict[str, Any],
    space: Space,
    constraint: Constraint | None,
    scores: dict[tuple[Any, ...], float],
    want: int,
    asks: int,
) -> tuple[list[tuple[Any, Params]], int]:
    """Ask for up to ``want`` new feasible proposals (repeats are told their known score at once)."""
    proposals: list[tuple[Any, Params]] = []
    new: set[tuple[Any, ...]] = set()
    budget = want * _MAX_ASKS_PER_TRIAL
    while len(new) < want and budget > 0:
        budget -= 1
        asks += 1
        trial = study.ask(dists)
        params = _snap(space, trial.params)
        key = _key(params)
        if constraint is not None and not constraint(params):
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        elif key in scores:
            study.tell(trial, _told(scores[key]))
        else:
            proposals.append((trial, params))
            new.add(key)
    return proposals, asks


def _told(value: float) -> float:
    """Optuna refuses NaN: an undefined score is reported as very bad (and infinities clipped)."""
    return -1e300 if math.isnan(value) else max(-1e300, min(1e300, value))
