"""Options shared by the streaming commands: where Kafka is, and which topics."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from quanta.settings import get_settings
from quanta.streaming import Topics


def kafka_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--bootstrap`` (default ``QUANTA_KAFKA_BOOTSTRAP``) and ``--namespace`` (a topic prefix)."""
    command = click.option(
        "--namespace",
        default="",
        show_default=True,
        help="Prefix for every topic name (tests, side by side).",
    )(command)
    return click.option(
        "--bootstrap",
        default=None,
        help="Kafka bootstrap servers host:port; default QUANTA_KAFKA_BOOTSTRAP, unset = in-process.",
    )(command)


def bootstrap_or_settings(bootstrap: str | None) -> str | None:
    """The bootstrap servers from the option, else from the settings (None: run in process)."""
    return bootstrap or get_settings().kafka_bootstrap or None


def topics(namespace: str) -> Topics:
    """The topic names under ``namespace``."""
    return Topics(namespace=namespace)
