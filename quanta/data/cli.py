"""``quanta data``: load, import, generate and list market data."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import click
from ibis.backends import BaseBackend  # type: ignore[import-untyped]
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from quanta.data.connection import connect
from quanta.data.importer import import_file
from quanta.data.queries import instruments, search_instruments
from quanta.data.sources import LoadReport, load_bundled
from quanta.data.synthetic import DEFAULT_START, store_synthetic


@contextlib.contextmanager
def _market() -> Iterator[BaseBackend]:
    """The configured market store, closed afterwards."""
    con = connect()
    try:
        yield con
    finally:
        con.disconnect()


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


@click.group()
def data() -> None:
    """Load, import, generate and list market data."""


@data.command("load")
@click.option("--force", is_flag=True, help="Reload sources even if their package version is already stored.")
def load(*, force: bool) -> None:
    """Load the real market data bundled in installed packages (idempotent)."""
    console = Console()
    with _market() as con, _progress(console) as progress:
        task = progress.add_task("Loading", total=None)

        def report(message: str, done: int, total: int) -> None:
            progress.update(task, description=message, completed=done, total=total)

        result = load_bundled(con, force=force, progress=report)
    console.print(_load_table(result))


def _load_table(report: LoadReport) -> Table:
    table = Table(title=f"Bundled market data ({report.seconds:.1f}s)")
    for column in ("package", "version", "licence", "status", "instruments", "bars", "dropped", "shadowed"):
        table.add_column(column, justify="right" if column in {"instruments", "bars"} else "left")
    for s in report.sources:
        dropped = ", ".join(f"{rule}: {n}" for rule, n in s.dropped.items()) or "-"
        shadowed = " ".join(s.shadowed) or "-"
        row = (s.package, s.version or "-", s.license or "-", s.status, f"{s.instruments:,}", f"{s.bars:,}")
        table.add_row(*row, dropped, shadowed)
    return table


@data.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--symbol", required=True, help="Symbol to store the bars under.")
@click.option("--name", default=None, help="Instrument name (default: the symbol).")
@click.option("--replace", is_flag=True, help="Replace the symbol if it exists.")
def import_(file: Path, symbol: str, name: str | None, *, replace: bool) -> None:
    """Import a CSV or Parquet OHLCV FILE as one symbol (all rows or none)."""
    with _market() as con:
        result = import_file(con, file, symbol=symbol, name=name, replace=replace)
    Console().print(
        f"Imported {result.rows:,} bars of {result.symbol} ({result.first_ts} .. {result.last_ts})."
    )


@data.command("generate")
@click.option("--symbol", default="SYN", show_default=True)
@click.option("--bars", "n", type=click.IntRange(min=1), default=100_000, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option(
    "--freq", default="1min", show_default=True, help="Bar spacing: 1D (business days), 1h, 5min, 30s..."
)
@click.option("--start", type=click.DateTime(), default=DEFAULT_START.isoformat(), show_default=True)
@click.option("--replace", is_flag=True, help="Replace the symbol if it exists.")
def generate(symbol: str, n: int, seed: int, freq: str, start: datetime, *, replace: bool) -> None:
    """Generate seeded synthetic bars (regime-switching GBM) and store them."""
    console = Console()
    with _market() as con, _progress(console) as progress:
        task = progress.add_task(f"Generating {symbol}", total=n)
        count = store_synthetic(
            con,
            symbol=symbol,
            n=n,
            seed=seed,
            start=start,
            freq=freq,
            replace=replace,
            progress=lambda done, total: progress.update(task, completed=done),
        )
    console.print(f"Stored {count:,} synthetic bars as {symbol}.")


@data.command("list")
@click.option("--search", "text", default=None, help="Only instruments whose symbol or name contains TEXT.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Show at most this many.")
def list_(text: str | None, limit: int | None) -> None:
    """List the stored instruments."""
    with _market() as con:
        expr = search_instruments(con, text, limit=limit or 1_000_000) if text else instruments(con)
        frame = expr.limit(limit).execute() if limit and not text else expr.execute()
    table = Table(title=f"{len(frame):,} instruments")
    for column in ("symbol", "name", "asset class", "first", "last", "bars", "source"):
        table.add_column(column, justify="right" if column == "bars" else "left")
    for row in frame.itertuples(index=False):
        first = f"{row.first_ts:%Y-%m-%d}" if row.first_ts is not None else "-"
        last = f"{row.last_ts:%Y-%m-%d}" if row.last_ts is not None else "-"
        table.add_row(
            row.symbol, row.name, row.asset_class, first, last, f"{row.bar_count:,}", row.source_package
        )
    Console().print(table)
