"""Errors raised by the accounts services; each message is fit to show to the person who caused it."""

# The names read as outcomes (NotFound, Throttled), as the services' callers match on them.
# ruff: noqa: N818

from __future__ import annotations

from collections.abc import Sequence


class AccountsError(Exception):
    """Base class: something a person asked for cannot be done; ``str(error)`` says why."""


class NotFound(AccountsError, LookupError):
    """The thing does not exist, or belongs to someone else (the two look the same on purpose)."""


class NotAllowed(AccountsError, PermissionError):
    """The actor is signed in but may not do this."""


class InsufficientScope(NotAllowed):
    """A token lacks a scope the operation needs; ``missing`` lists them."""

    def __init__(self, missing: Sequence[str]) -> None:
        self.missing = tuple(sorted(missing))
        super().__init__(f"This token lacks the scope(s): {', '.join(self.missing)}.")


class InvalidCredentials(AccountsError):
    """Wrong email or password; the message never says which, nor whether the account exists."""

    def __init__(self, message: str = "Incorrect email or password.") -> None:
        super().__init__(message)


class AccountDisabled(AccountsError):
    """The credentials are right but the account has been disabled by an administrator."""

    def __init__(self) -> None:
        super().__init__("This account has been disabled. Contact an administrator.")


class Throttled(AccountsError):
    """Too many attempts; try again in ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        minutes = max(1, round(retry_after / 60))
        unit = "minute" if minutes == 1 else "minutes"
        super().__init__(f"Too many attempts. Try again in {minutes} {unit}.")


class PasswordPolicyError(AccountsError, ValueError):
    """The new password breaks one or more rules; ``messages`` lists each, as advice."""

    def __init__(self, messages: Sequence[str]) -> None:
        self.messages = tuple(messages)
        super().__init__(" ".join(self.messages))


class InvalidInput(AccountsError, ValueError):
    """A field's value is malformed; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


class Conflict(AccountsError, ValueError):
    """A unique name is taken (a username, an organisation slug) or the change clashes with the state."""


class InvalidToken(AccountsError, ValueError):
    """The token is unknown, already used or revoked."""

    def __init__(self, message: str = "This link or token is not valid. Request a new one.") -> None:
        super().__init__(message)


class TokenExpired(InvalidToken):
    """The token was valid but its time is up."""

    def __init__(self, message: str = "This link or token has expired. Request a new one.") -> None:
        super().__init__(message)
