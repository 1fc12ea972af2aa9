"""Errors of the OAuth 2 authorization server and of social sign-in.

``OAuthError`` subclasses carry the RFC 6749 error code (``error``) and HTTP status; the message is the
``error_description``, safe to send to the client. ``LoginError`` ends a social sign-in with a short
``code`` the sign-in page turns into a sentence.
"""

# The names follow RFC 6749's error codes (invalid_grant -> InvalidGrant).
# ruff: noqa: N818

from __future__ import annotations

from typing import ClassVar


class OAuthError(Exception):
    """An OAuth 2 protocol error (RFC 6749 §5.2); ``str(error)`` is its description."""

    error: ClassVar[str] = "invalid_request"
    status: ClassVar[int] = 400

    def __init__(self, description: str) -> None:
        self.description = description
        super().__init__(description)

    def to_json(self) -> dict[str, str]:
        """The error response body of the token, revocation and introspection endpoints."""
        return {"error": self.error, "error_description": self.description}


class InvalidRequest(OAuthError):
    """A parameter is missing, repeated or malformed."""


class InvalidClient(OAuthError):
    """Client authentication failed (unknown client, wrong secret, revoked, or no credentials)."""

    error = "invalid_client"
    status = 401


class InvalidGrant(OAuthError):
    """The code or refresh token is unknown, expired, used, revoked or issued to another client."""

    error = "invalid_grant"


class UnauthorizedClient(OAuthError):
    """The client is not registered for this grant type."""

    error = "unauthorized_client"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class InvalidScope(OAuthError):
    """The scope is unknown, empty, or more than the client or the grant allows."""

    error = "invalid_scope"


class AccessDenied(OAuthError):
    """The person declined the client's request."""

    error = "access_denied"


class UnknownClient(OAuthError):
    """The authorization request names no live client or an unregistered redirect URI.

    The server must not redirect to an unverified URI, so this one is shown to the person instead.
    """


class RedirectError(Exception):
    """An authorization request error to send back to the client at its (verified) redirect URI."""

    def __init__(self, error: OAuthError, *, redirect_uri: str, state: str | None) -> None:
        self.error = error
        self.redirect_uri = redirect_uri
        self.state = state
        super().__init__(str(error))


class LoginError(Exception):
    """Social sign-in failed; ``code`` names why (for the sign-in page), the message says it in words."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


class SealError(ValueError):
    """A sealed value (cookie, consent request) was tampered with, is for another purpose, or expired."""
