"""Evaluate parameter sets on every core and stream the scores back in order.

Each worker process receives the objective once (``fork`` inherits it; ``spawn`` unpickles it, loading
the strategy from its module or file) and builds one evaluator per data window. Parameter sets travel
in chunks, so per-task overhead stays small, and only ``(score, scalar stats)`` travel back. At most a
few chunks are in flight, so a search over millions of combinations holds a bounded amount in memory.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from quanta.optimize._objective import Evaluation, Evaluator, Objective, Window
from quanta.optimize._space import Params

Tick = Callable[[int], None]
"""Called with the number of parameter sets just evaluated."""

_MAX_CHUNK = 64
_CHUNKS_PER_WORKER = 8
_IN_FLIGHT_PER_WORKER = 3
_CACHED_WINDOWS = 4


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """One evaluated parameter set: its position in the search, score and kept statistics."""

    index: int
    params: Params
    score: float
    stats: dict[str, float]


def cpu_count() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def default_start_method() -> str:
    """``fork`` where available (workers inherit the data and strategy), else ``spawn``."""
    return "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


# -- worker side -----------------------------------------------------------------------------------

_STATE: dict[str, Any] = {}


def _init_worker(objective: Objective) -> None:
    _STATE["objective"] = objective
    _STATE["evaluators"] = {}


def _evaluator(window: Window | None) -> Evaluator:
    cache: dict[Window | None, Evaluator] = _STATE["evaluators"]
    evaluator = cache.get(window)
    if evaluator is None:
        if len(cache) >= _CACHED_WINDOWS:
            cache.clear()
        evaluator = cache[window] = _STATE["objective"].evaluator(window)
    return evaluator


def _evaluate_chunk(window: Window | None, chunk: list[Params]) -> list[Evaluation] | _Failure:
    try:
        evaluate = _evaluator(window)
        return [evaluate(params) for params in chunk]
    except Exception as exc:
        return _Failure.of(exc)


@dataclass(frozen=True, slots=True)
class _Failure:
    """An exception from a worker, carried back in a form that always unpickles."""

    error: BaseException | None
    kind: str
    message: str

    @classmethod
    def of(cls, exc: Exception) -> _Failure:
        try:  # a StrategyError pickles with the user's file, line and traceback text
            pickle.loads(pickle.dumps(exc))  # noqa: S301 - our own bytes, just made
            kept: BaseException | None = exc
        except Exception:
            kept = None
        return cls(kept, type(exc).__name__, str(exc))

    def exception(self) -> BaseException:
        return self.error or RuntimeError(f"{self.kind}: {self.message}")


# -- parent side -----------------------------------------------------------------------------------


class Evaluations:
    """A pool of workers for one objective; ``stream`` scores parameter sets in order.

    ``workers=1`` evaluates in this process (no pool). Use as a context manager.
    """

    def __init__(self, objective: Objective, *, workers: int | None = None, start_method: str | None = None):
        self.objective = objective
        self.workers = max(1, workers or cpu_count())
        self._start_method = start_method or default_start_method()
        self._executor: ProcessPoolExecutor | None = None
        self._local: dict[Window | None, Evaluator] = {}

    def __enter__(self) -> Evaluations:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def stream(
        self,
        combos: Iterable[Params],
        *,
        window: Window | None = None,
        total: int | None = None,
        chunk_size: int | None = None,
        start: int = 0,
        tick: Tick | None = None,
    ) -> Iterator[Row]:
        """Score each parameter set, yielding rows in the order given (``index`` counts from ``start``)."""
        size = chunk_size or self._chunk_size(total)
        chunks = _chunks(combos, size)
        evaluated = self._serial(chunks, window) if self.workers == 1 else self._parallel(chunks, window)
        index = start
        for chunk, results in evaluated:
            for params, (value, stats) in zip(chunk, results, strict=True):
                yield Row(index=index, params=params, score=value, stats=stats)
                index += 1
            if tick is not None:
                tick(len(chunk))

    def _chunk_size(self, total: int | None) -> int:
        if total is None or self.workers == 1:
            return 16
        return max(1, min(_MAX_CHUNK, total // (self.workers * _CHUNKS_PER_WORKER)))

    def _serial(
        self, chunks: Iterator[list[Params]], window: Window | None
    ) -> Iterator[tuple[list[Params], list[Evaluation]]]:
        evaluate = self._local.get(window)
        if evaluate is None:
            if len(self._local) >= _CACHED_WINDOWS:
                self._local.clear()
            evaluate = self._local[window] = self.objective.evaluator(window)
        for chunk in chunks:
            yield chunk, [evaluate(p) for p in chunk]

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            context = multiprocessing.get_context(self._start_method)
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=context,
                initializer=_init_worker,
                initargs=(self.objective,),
            )
        return self._executor

    def _parallel(
        self, chunks: Iterator[list[Params]], window: Window | None
    ) -> Iterator[tuple[list[Params], list[Evaluation]]]:
        pool = self._pool()
        pending: deque[tuple[list[Params], Future[Any]]] = deque()
        limit = self.workers * _IN_FLIGHT_PER_WORKER
        try:
            for chunk in chunks:
                pending.append((chunk, pool.submit(_evaluate_chunk, window, chunk)))
                while len(pending) >= limit:
                    yield _settle(*pending.popleft())
            while pending:
                yield _settle(*pending.popleft())
        finally:
            for _, future in pending:
                future.cancel()


def _settle(chunk: list[Params], future: Future[Any]) -> tuple[list[Params], list[Evaluation]]:
    result = future.result()
    if isinstance(result, _Failure):
        error = result.exception()
        with contextlib.suppress(AttributeError):
            error.add_note(f"(while evaluating one of {len(chunk)} parameter sets starting with {chunk[0]})")
        raise error
    return chunk, result


def _chunks(items: Iterable[Params], size: int) -> Iterator[list[Params]]:
    chunk: list[Params] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
