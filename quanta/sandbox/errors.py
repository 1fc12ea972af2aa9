"""Errors of the job queue's use cases."""

from __future__ import annotations

from quanta.accounts.errors import NotFound


class JobNotFound(NotFound):
    """No such job, or it belongs to someone else (the two look the same on purpose)."""


class JobFinishedError(ValueError):
    """The job has already ended; it cannot be cancelled."""
