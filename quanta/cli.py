"""The ``quanta`` command line.

Each area keeps its commands beside its code as a click group and is added here with one import and
one ``add_command``. Expected failures (bad input, unknown symbols, unreachable databases) print a
one-line message and exit with status 1, without a traceback.
"""

from __future__ import annotations

from typing import Any

import click
import duckdb
import psycopg

import quanta
from quanta.backtest_cli import COMMANDS as RUN_COMMANDS
from quanta.competitions.cli import admin
from quanta.data.cli import data
from quanta.data.errors import MarketDataError
from quanta.sandbox.cli import worker
from quanta.settings import SettingsError

USER_ERRORS: tuple[type[Exception], ...] = (
    MarketDataError,
    SettingsError,
    ValueError,
    OSError,
    duckdb.IOException,
    psycopg.OperationalError,
)


class _Group(click.Group):
    """A group that turns expected errors into clean messages."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except USER_ERRORS as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(cls=_Group)
@click.version_option(quanta.__version__, prog_name="quanta")
def main() -> None:
    """Quanta: write, backtest, run and share algorithmic trading strategies."""


main.add_command(data)
main.add_command(worker)
main.add_command(admin)
for _command in RUN_COMMANDS:
    main.add_command(_command)


if __name__ == "__main__":
    main()
