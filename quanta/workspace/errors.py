"""Errors raised by the workspace services; each message is fit to show to the person who caused it.

They specialise the accounts errors, so every caller that already answers those (the REST API's problem
handlers, the Reflex pages) answers these the same way: not found is 404, not allowed 403, bad input 422,
a clash with the current state 409.
"""

# The names read as outcomes (StrategyNotFound, Forbidden), as the services' callers match on them.
# ruff: noqa: N818

from __future__ import annotations

from quanta.accounts.errors import AccountsError, Conflict, InvalidInput, NotAllowed, NotFound

__all__ = [
    "Conflict",
    "Forbidden",
    "InvalidInput",
    "InvalidSource",
    "NotAllowed",
    "NotFound",
    "StrategyNotFound",
    "VersionNotFound",
    "WorkspaceError",
]


class WorkspaceError(AccountsError):
    """Base class of the errors only the workspace raises."""


class StrategyNotFound(WorkspaceError, NotFound):
    """No such strategy, or a private one the caller may not see (the two look the same on purpose)."""

    def __init__(self, message: str = "No such strategy.") -> None:
        super().__init__(message)


class VersionNotFound(WorkspaceError, NotFound):
    """The strategy has no version with this number."""


class Forbidden(WorkspaceError, NotAllowed):
    """The caller may read the strategy but not do this to it (a viewer writing, an editor managing)."""


class InvalidSource(WorkspaceError, InvalidInput):
    """A version's source is not Python (``line`` and ``column`` point at the error, 1-based) or too big."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None) -> None:
        self.line = line
        self.column = column
        super().__init__("source", message)
