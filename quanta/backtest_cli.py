"""``quanta backtest``, ``quanta optimize``, ``quanta report`` and ``quanta runs``.

Strategies come from a user's ``.py`` file, market data from the market store (opened read-only), and
every run is saved to the run store (``--no-save`` to skip). Bad input (a misspelt parameter, an
unknown option or statistic, a constraint that is not a simple expression) exits with status 2; a
strategy that raises, unknown symbols and empty ranges exit with status 1; neither prints a traceback.
"""

from __future__ import annotations

import contextlib
import json
import math
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import click
import numpy as np
from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from quanta.data.errors import MarketDataError
from quanta.engine import Backtest, BacktestError, ConfigError, ParameterError, Result
from quanta.engine.errors import did_you_mean
from quanta.loading import (
    DatabaseLockedError,
    MarketData,
    StrategyLoadError,
    load_market,
    load_strategy,
    market_store,
)
from quanta.optimize import (
    METHODS,
    BacktestObjective,
    ConstraintError,
    Method,
    OptimizeResult,
    Space,
    WalkForwardResult,
    heatmap,
    optimize,
    parse_constraint,
    parse_params,
    parse_space,
    row_writer,
    walk_forward,
)
from quanta.report import write_report
from quanta.runs import (
    RunMeta,
    RunStoreError,
    delete_run,
    display,
    json_value,
    list_runs,
    load_run,
    number,
    result_json,
    run_store,
    save_run,
    stats_json,
)
from quanta.settings import get_settings
from quanta.stats import STAT_NAMES
from quanta.strategy import Strategy

_F = TypeVar("_F", bound=Callable[..., Any])
_USAGE_ERRORS = (ParameterError, ConfigError, ConstraintError)
_RUN_ERRORS = (BacktestError, StrategyLoadError, MarketDataError, DatabaseLockedError, RunStoreError)
_NON_NUMERIC_STATS = {"Start", "End", "Duration", "Max. Drawdown Duration", "Avg. Drawdown Duration"}
_NON_NUMERIC_STATS |= {"Max. Trade Duration", "Avg. Trade Duration"}
_TOP_STATS = ("Return [%]", "Sharpe Ratio", "Max. Drawdown [%]", "# Trades", "Win Rate [%]")
_LIST_HEADERS = ("return %", "sharpe", "max dd %", "trades")


class _UsageFailure(click.ClickException):
    """Bad input: exit status 2, like click's own usage errors."""

    exit_code = 2


@contextlib.contextmanager
def _clean_errors() -> Iterator[None]:
    """Turn expected failures into one-line messages without a traceback."""
    try:
        yield
    except _USAGE_ERRORS as exc:
        raise _UsageFailure(str(exc)) from exc
    except _RUN_ERRORS as exc:
        raise click.ClickException(str(exc)) from exc


def _err() -> Console:
    return Console(stderr=True)


# -- shared options --------------------------------------------------------------------------------


def _run_options(func: _F) -> _F:
    """Options shared by ``backtest`` and ``optimize``: strategy, data and costs."""
    options = [
        click.argument("strategy_file", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
        click.option(
            "--class", "class_name", default=None, help="Strategy class (when the file has several)."
        ),
        click.option(
            "--symbol",
            "symbols",
            multiple=True,
            help="Symbol to trade (repeat for several). Default: the file's SYMBOLS.",
        ),
        click.option("--start", default=None, help="First day (YYYY-MM-DD)."),
        click.option("--end", default=None, help="Last day, inclusive (YYYY-MM-DD)."),
        click.option("--timeframe", type=click.Choice(["1D", "1W", "1M"]), default="1D", show_default=True),
        click.option("--cash", type=float, default=10_000.0, show_default=True, help="Initial cash."),
        click.option(
            "--commission", type=float, default=0.0, show_default=True, help="Fraction of traded value."
        ),
        click.option("--trade-on-close", is_flag=True, help="Fill market orders at the signal bar's close."),
        click.option("--finalize-trades", is_flag=True, help="Close open trades on the last bar."),
        click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables."),
        click.option("--no-save", is_flag=True, help="Do not save the run to the run store."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _symbols(strategy: type[Strategy], given: Sequence[str]) -> list[str]:
    if given:
        return list(given)
    default = getattr(sys.modules.get(strategy.__module__), "SYMBOLS", None)
    if default:
        return [str(s) for s in default]
    raise _UsageFailure("no symbol given: pass --symbol (the strategy file defines no SYMBOLS)")


def _market(symbols: list[str], start: str | None, end: str | None, timeframe: Any) -> MarketData:
    with market_store(get_settings()) as con:
        return load_market(con, symbols, start=start, end=end, timeframe=timeframe)


def _backtest_options(
    cash: float, commission: float, *, trade_on_close: bool, finalize: bool
) -> dict[str, Any]:
    options: dict[str, Any] = {"cash": cash, "commission": commission}
    if trade_on_close:
        options["trade_on_close"] = True
    if finalize:
        options["finalize_trades"] = True
    return options


def _save(result: Result, meta: RunMeta) -> str:
    with run_store(get_settings()) as con:
        return save_run(con=con, result=result, meta=meta)


# -- tables ----------------------------------------------------------------------------------------


def _stats_table(stats: Mapping[str, Any], title: str) -> Table:
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("statistic")
    table.add_column("value", justify="right")
    for name, value in stats.items():
        table.add_row(name, display(json_value(value)))
    return table


def _print_result(console: Console, result: Result, run_id: str | None, title: str) -> None:
    console.print(_stats_table(result.stats, title))
    if run_id:
        console.print(f"Saved run [bold]{run_id}[/] — [dim]quanta report {run_id}[/]")


# -- backtest --------------------------------------------------------------------------------------


@click.command("backtest")
@_run_options
@click.option("--param", "params", multiple=True, help="Strategy parameter NAME=VALUE (repeatable).")
def backtest(
    *,
    strategy_file: Path,
    class_name: str | None,
    symbols: tuple[str, ...],
    start: str | None,
    end: str | None,
    timeframe: str,
    cash: float,
    commission: float,
    params: tuple[str, ...],
    trade_on_close: bool,
    finalize_trades: bool,
    as_json: bool,
    no_save: bool,
) -> None:
    """Backtest the strategy in STRATEGY_FILE on market data and print its statistics."""
    with _clean_errors():
        strategy = load_strategy(strategy_file, class_name)
        values = parse_params(strategy, params)
        market = _market(_symbols(strategy, symbols), start, end, timeframe)
        options = _backtest_options(cash, commission, trade_on_close=trade_on_close, finalize=finalize_trades)
        result = Backtest(market.data, strategy, **options).run(**values)
        meta = RunMeta(
            strategy_file=str(strategy_file.resolve()),
            class_name=strategy.__name__,
            options=options,
            prices=market.closes(),
        )
        run_id = None if no_save else _save(result, meta)
    if as_json:
        click.echo(json.dumps({**result_json(result), "run_id": run_id}, allow_nan=False))
        return
    title = f"{strategy.__name__} on {', '.join(market.symbols)}"
    _print_result(Console(), result, run_id, title)


# -- optimize --------------------------------------------------------------------------------------


def _maximize(name: str) -> str:
    if name in STAT_NAMES and name not in _NON_NUMERIC_STATS:
        return name
    numeric = [s for s in STAT_NAMES if s not in _NON_NUMERIC_STATS]
    raise _UsageFailure(
        f"cannot maximise {name!r}.{did_you_mean(name, numeric)} Statistics: {', '.join(numeric)}"
    )


@contextlib.contextmanager
def _progress_bar(enabled: bool) -> Iterator[Callable[[int, int], None] | None]:
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("Optimising"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=_err(), transient=True) as progress:
        task = progress.add_task("optimise", total=None)

        def report(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield report


def _heatmap_extra(found: OptimizeResult, space: Space) -> dict[str, Any] | None:
    varied = [n for n, c in zip(space.names, space.choices, strict=True) if len(c) > 1]
    if len(varied) < 2 or found.rows.empty:
        return None
    pivot = heatmap(found.rows, x=varied[0], y=varied[1])
    if pivot.size > 10_000:
        return None
    z = [[None if not np.isfinite(v) else float(v) for v in row] for row in pivot.to_numpy(dtype=float)]
    return {
        "x": varied[0],
        "y": varied[1],
        "value": found.maximize,
        "xs": [json_value(v) for v in pivot.columns],
        "ys": [json_value(v) for v in pivot.index],
        "z": z,
    }


def _top_table(found: OptimizeResult, limit: int) -> Table:
    table = Table(title=f"Best {min(limit, len(found.rows))} of {found.evaluated:,} ({found.method})")
    stats = [s for s in _TOP_STATS if s in found.rows.columns and s != found.maximize]
    for name in (*found.names, found.maximize, *stats):
        table.add_column(name, justify="right")
    for record in found.rows.head(limit).to_dict("records"):
        cells = [record[n] for n in found.names] + [record["score"], *(record[s] for s in stats)]
        table.add_row(*(display(json_value(c)) for c in cells))
    return table


def _folds_table(wf: WalkForwardResult) -> Table:
    table = Table(title=f"Walk-forward folds (fit: {wf.method}, maximise {wf.maximize})")
    names = list(wf.folds[0].params) if wf.folds else []
    for column in ("fold", "test from", "test to", *names, "in-sample", "out-of-sample", "Return [%]"):
        table.add_column(column, justify="right")
    for f in wf.folds:
        cells = [f.number, f.test_start, f.test_end, *f.params.values(), f.in_sample, f.out_of_sample]
        table.add_row(*(display(json_value(c)) for c in cells), display(f.stats.get("Return [%]")))
    return table


@click.command("optimize")
@_run_options
@click.option(
    "--method",
    type=click.Choice([*METHODS, "walk-forward"]),
    default="grid",
    show_default=True,
    help="Search method.",
)
@click.option(
    "--param",
    "params",
    multiple=True,
    help="NAME=START:STOP[:STEP] (inclusive), NAME=V1,V2,… or NAME=VALUE (repeatable).",
)
@click.option("--maximize", default="Sharpe Ratio", show_default=True, help="Statistic to maximise.")
@click.option("--constraint", default=None, help='Expression over parameters, e.g. "fast < slow".')
@click.option("--trials", type=click.IntRange(min=1), default=None, help="Evaluations for random/bayes.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Processes (default: every core).")
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True, help="Rows to show.")
@click.option(
    "--fit", type=click.Choice(METHODS), default="grid", show_default=True, help="Walk-forward's search."
)
@click.option("--folds", type=click.IntRange(min=1), default=5, show_default=True, help="Walk-forward folds.")
@click.option(
    "--train", "train_bars", type=click.IntRange(min=2), default=None, help="Training bars per fold."
)
@click.option("--test", "test_bars", type=click.IntRange(min=2), default=None, help="Test bars per fold.")
@click.option("--anchored", is_flag=True, help="Walk-forward training windows all start at the first bar.")
@click.option(
    "--lookback",
    type=click.IntRange(min=0),
    default=None,
    help="Bars before each test window for indicators to warm up (default: the training window).",
)
@click.option(
    "--rows-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write every row (.csv/.jsonl).",
)
def optimize_command(
    *,
    strategy_file: Path,
    class_name: str | None,
    symbols: tuple[str, ...],
    start: str | None,
    end: str | None,
    timeframe: str,
    cash: float,
    commission: float,
    method: str,
    params: tuple[str, ...],
    maximize: str,
    constraint: str | None,
    trials: int | None,
    seed: int,
    workers: int | None,
    top: int,
    fit: str,
    folds: int,
    train_bars: int | None,
    test_bars: int | None,
    lookback: int | None,
    rows_out: Path | None,
    trade_on_close: bool,
    finalize_trades: bool,
    anchored: bool,
    as_json: bool,
    no_save: bool,
) -> None:
    """Search the parameters of the strategy in STRATEGY_FILE that maximise a statistic."""
    with _clean_errors():
        strategy = load_strategy(strategy_file, class_name)
        space = Space.of(parse_space(strategy, params) or _no_space())
        rule = parse_constraint(constraint, space.names) if constraint else None
        target = _maximize(maximize)
        searcher = _method(fit if method == "walk-forward" else method)
        if searcher != "grid" and trials is None:
            raise _UsageFailure(f"{searcher} search needs --trials N")
        market = _market(_symbols(strategy, symbols), start, end, timeframe)
        options = _backtest_options(cash, commission, trade_on_close=trade_on_close, finalize=finalize_trades)
        job = _Job(
            objective=BacktestObjective(
                strategy=strategy, data=market.data, options=options, maximize=target
            ),
            space=space,
            search={"trials": trials, "seed": seed, "constraint": rule, "workers": workers},
            market=market,
            meta=RunMeta(
                kind="optimize",
                strategy_file=str(strategy_file.resolve()),
                class_name=strategy.__name__,
                options=options,
                extra={"space": list(params), "constraint": constraint},
            ),
            save=not no_save,
            progress=not as_json and sys.stderr.isatty(),
        )
        if method == "walk-forward":
            windows = {"folds": folds, "train": train_bars, "test": test_bars, "anchored": anchored}
            wf, run_id = _walk_forward(job, fit=searcher, windows=windows, lookback=lookback)
        else:
            found, run_id = _search(job, method=searcher, rows_out=rows_out, top=top)
    if method == "walk-forward":
        _show_walk_forward(wf, run_id, as_json=as_json)
    else:
        _show_search(found, run_id, as_json=as_json, top=top)


@dataclass(frozen=True, kw_only=True)
class _Job:
    """An optimisation ready to run: the objective, the space, the search options and how to save."""

    objective: BacktestObjective
    space: Space
    search: dict[str, Any]
    market: MarketData
    meta: RunMeta
    save: bool
    progress: bool


def _method(name: str) -> Method:
    for method in METHODS:
        if method == name:
            return method
    raise _UsageFailure(f"unknown search method {name!r}; use one of {', '.join(METHODS)}")


def _search(
    job: _Job, *, method: Method, rows_out: Path | None, top: int
) -> tuple[OptimizeResult, str | None]:
    with _progress_bar(job.progress) as progress, contextlib.ExitStack() as stack:
        sink = stack.enter_context(row_writer(rows_out)) if rows_out else None
        found = optimize(
            job.objective, job.space, method=method, keep=1, sink=sink, progress=progress, **job.search
        )
    extra = {**job.meta.extra, **found.to_dict(limit=top), "heatmap": _heatmap_extra(found, job.space)}
    meta = replace(job.meta, extra=extra, prices=job.market.closes())
    return found, _save(found.best.result, meta) if job.save else None


def _walk_forward(
    job: _Job, *, fit: Method, windows: dict[str, Any], lookback: int | None
) -> tuple[WalkForwardResult, str | None]:
    with _progress_bar(job.progress) as progress:
        wf = walk_forward(
            job.objective,
            job.space,
            method=fit,
            lookback=lookback,
            progress=progress,
            **windows,
            **job.search,
        )
    extra = {**job.meta.extra, **wf.to_dict(), "method": "walk-forward", "fit": fit}
    closes = job.market.closes()
    meta = replace(job.meta, extra=extra, prices=closes.iloc[len(closes) - len(wf.result.equity) :])
    return wf, _save(wf.result, meta) if job.save else None


def _show_search(found: OptimizeResult, run_id: str | None, *, as_json: bool, top: int) -> None:
    best = found.best.result
    if as_json:
        payload = {**found.to_dict(limit=top), "best": result_json(best), "run_id": run_id}
        click.echo(json.dumps(payload, allow_nan=False))
        return
    console = Console()
    console.print(_top_table(found, top))
    _print_result(console, best, run_id, f"Best: {found.best_params}")


def _no_space() -> dict[str, Any]:
    raise _UsageFailure("give the parameters to search with --param NAME=START:STOP[:STEP] or NAME=V1,V2")


def _show_walk_forward(wf: WalkForwardResult, run_id: str | None, *, as_json: bool) -> None:
    if as_json:
        payload = {
            **wf.to_dict(),
            "method": "walk-forward",
            "fit": wf.method,
            "stats": stats_json(wf.result.stats),
            "run_id": run_id,
        }
        click.echo(json.dumps(payload, allow_nan=False, default=json_value))
        return
    console = Console()
    console.print(_folds_table(wf))
    _print_result(console, wf.result, run_id, "Stitched out-of-sample result")


# -- report and runs -------------------------------------------------------------------------------


@click.command("report")
@click.argument("run_id")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="HTML file."
)
def report(run_id: str, output: Path | None) -> None:
    """Write a self-contained HTML report of a saved run."""
    with _clean_errors(), run_store(get_settings(), read_only=True) as con:
        run = load_run(con=con, run_id=run_id)
    path = write_report(run, output or Path(f"report-{run.meta.run_id}.html"))
    click.echo(f"Wrote {path}")


@click.group("runs")
def runs() -> None:
    """List, show and delete saved runs."""


@runs.command("list")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--kind", type=click.Choice(["backtest", "optimize"]), default=None)
def list_command(limit: int, kind: str | None) -> None:
    """The most recent runs."""
    with _clean_errors(), run_store(get_settings(), read_only=True) as con:
        rows = list_runs(con=con, limit=limit, kind=kind)
    table = Table(title=f"{len(rows)} runs (newest first)", box=box.SIMPLE_HEAD)
    table.add_column("run", no_wrap=True, min_width=14)
    for header in _LIST_HEADERS:
        table.add_column(header, justify="right", no_wrap=True, min_width=len(header))
    for column in ("kind", "strategy", "symbols", "period"):
        table.add_column(column, no_wrap=True, overflow="ellipsis")
    for r in rows:
        period = f"{r.start:%Y-%m}..{r.end:%Y-%m}" if r.start and r.end else "-"
        headline = [_short(r.headline.get(s)) for s in _TOP_STATS[:4]]
        kind = "opt" if r.kind == "optimize" else "bt"
        table.add_row(r.run_id, *headline, kind, r.strategy, ",".join(r.symbols), period)
    Console().print(table)


def _short(value: Any) -> str:
    x = number(value) + 0.0  # no "-0.00"
    if math.isnan(x):
        return "-"
    return f"{x:,.0f}" if isinstance(value, int) else f"{x:,.2f}"


@runs.command("show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Print the stored run as JSON.")
def show(*, run_id: str, as_json: bool) -> None:
    """One run's details and statistics."""
    with _clean_errors(), run_store(get_settings(), read_only=True) as con:
        run = load_run(con=con, run_id=run_id)
    m = run.meta
    if as_json:
        payload = {
            "run_id": m.run_id,
            "created_at": m.created_at.isoformat(),
            "kind": m.kind,
            "strategy": m.strategy,
            "strategy_file": m.strategy_file,
            "symbols": list(m.symbols),
            "params": m.params,
            "options": run.options,
            **run.stats,
            "receipt": run.receipt,
        }
        click.echo(json.dumps(payload, default=json_value))
        return
    console = Console()
    console.print(f"[bold]{m.strategy}[/] on {', '.join(m.symbols)} — {m.kind} run {m.run_id}")
    if m.strategy_file:
        console.print(f"[dim]{m.strategy_file}[/]")
    console.print(f"params: {m.params}   options: {run.options}")
    table = Table(show_header=False)
    table.add_column("statistic")
    table.add_column("value", justify="right")
    for name, value in run.stats.items():
        table.add_row(name, display(value))
    console.print(table)
    data, code = run.receipt.get("data_sha256", ""), run.receipt.get("strategy_sha256", "")
    console.print(f"[dim]receipt: data sha256 {data[:16]}…, strategy sha256 {code[:16]}…[/]")


@runs.command("delete")
@click.argument("run_id")
def delete(run_id: str) -> None:
    """Delete a run."""
    with _clean_errors(), run_store(get_settings()) as con:
        deleted = delete_run(con=con, run_id=run_id)
    click.echo(f"Deleted run {deleted}")


COMMANDS = (backtest, optimize_command, report, runs)
"""The commands ``quanta.cli`` registers."""
