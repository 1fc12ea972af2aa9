"""Errors of the paper-trading services; each message is fit to show to the person who caused it.

They specialise the accounts errors, so the REST API's problem handlers and the pages answer them as
they answer those: not found 404, not allowed 403, bad input 422, a clash with the state 409.
"""

from __future__ import annotations

from quanta.accounts.errors import Conflict, InvalidInput, NotFound
from quanta.workspace.errors import Forbidden

__all__ = ["Conflict", "DeploymentNotFound", "Forbidden", "InvalidInput"]


class DeploymentNotFound(NotFound):
    """No such deployment, or one the caller may not see."""

    def __init__(self, message: str = "No such paper deployment.") -> None:
        super().__init__(message)
