"""Errors raised by the competition services; each message is fit to show to the person who caused it.

They specialise the accounts errors, so the REST API's problem handlers and the pages answer them alike:
not found is 404, not allowed 403, bad input 422, a clash with the competition's state 409.
"""

# The names read as outcomes (CompetitionNotFound, EntryRefused), as the callers match on them.
# ruff: noqa: N818

from __future__ import annotations

from quanta.accounts.errors import AccountsError, Conflict, InvalidInput, NotAllowed, NotFound

__all__ = [
    "CompetitionError",
    "CompetitionNotFound",
    "Conflict",
    "EntryNotFound",
    "EntryRefused",
    "InvalidInput",
    "NotAllowed",
    "NotFound",
]


class CompetitionError(AccountsError):
    """Base class of the errors only competitions raise."""


class CompetitionNotFound(CompetitionError, NotFound):
    """No competition with this id."""

    def __init__(self, message: str = "No such competition.") -> None:
        super().__init__(message)


class EntryNotFound(CompetitionError, NotFound):
    """No entry with this id in the competition."""

    def __init__(self, message: str = "No such entry.") -> None:
        super().__init__(message)


class EntryRefused(CompetitionError, Conflict):
    """The entry cannot be made now: the deadline passed, the competition started, too many entries."""
