"""Errors raised by the run store."""

from __future__ import annotations

from quanta.data.errors import close_matches


class RunStoreError(Exception):
    """Base class for run-store errors with a message fit for end users."""


class RunNotFoundError(RunStoreError, LookupError):
    """No run has this id; the message suggests close matches."""

    def __init__(self, run_id: str, known: list[str]) -> None:
        self.run_id = run_id
        matches = close_matches(run_id, known)
        hint = f"; did you mean {', '.join(matches)}?" if matches else " (see `quanta runs list`)"
        super().__init__(f"no run {run_id!r}{hint}")
