"""``quanta worker``: run sandbox workers in the foreground until interrupted (SIGINT or SIGTERM)."""

from __future__ import annotations

import signal
import threading
from typing import Any

import click

from quanta.sandbox._pool import running_workers
from quanta.settings import get_settings


@click.command()
@click.option(
    "--count", "-n", default=2, show_default=True, type=click.IntRange(1, 64), help="Worker processes."
)
def worker(count: int) -> None:
    """Run COUNT sandbox workers for the configured app database until stopped."""
    stop = threading.Event()

    def on_signal(_signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with running_workers(get_settings(), count) as pool:
        reports = pool.wait_ready()
        click.echo(f"{len(reports)} sandbox workers ready; isolation: {', '.join(reports[0]['layers'])}")
        while not stop.wait(1.0):
            if pool.alive() < count:
                raise click.ClickException("a sandbox worker died; see its log above")
    click.echo("sandbox workers stopped")
