"""Errors as ``application/problem+json`` (RFC 9457), for every route of the app.

Raise ``ApiProblem`` from a route, or let a domain error through: accounts errors, unknown symbols and
validation errors are turned into problems here. ``type`` is ``about:blank`` for plain HTTP errors and
``/api/problems/<slug>`` (a relative URI, described at that address) for Quanta's own kinds.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from quanta.accounts.errors import (
    AccountDisabled,
    AccountsError,
    Conflict,
    InsufficientScope,
    InvalidCredentials,
    InvalidInput,
    InvalidToken,
    NotAllowed,
    NotFound,
    PasswordPolicyError,
    Throttled,
)
from quanta.data.errors import MarketDataError, UnknownSymbolError

PROBLEM_JSON = "application/problem+json"
PROBLEMS_PATH = "/api/problems"
_log = logging.getLogger(__name__)

PROBLEM_TYPES: Mapping[str, tuple[str, str]] = {
    "unauthenticated": (
        "Authentication required",
        "Send Authorization: Bearer <token> (a personal access token or an OAuth access token).",
    ),
    "invalid-token": (
        "Invalid token",
        "The token is unknown, expired or revoked, or its account can no longer sign in.",
    ),
    "insufficient-scope": (
        "Insufficient scope",
        "The token lacks a scope this operation needs; `missing_scopes` lists them.",
    ),
    "forbidden": ("Forbidden", "You are signed in but may not do this."),
    "cross-site-request": (
        "Cross-site request refused",
        "A cookie-authenticated request must come from Quanta's own pages (same Origin) "
        "or carry a CSRF token.",
    ),
    "rate-limited": (
        "Too many requests",
        "The token or client used its quota; retry after `Retry-After` seconds.",
    ),
    "validation": (
        "Invalid request",
        "Some parameters or fields are malformed; `errors` lists each with its location.",
    ),
    "invalid-cursor": (
        "Invalid cursor",
        "The `cursor` parameter was not one this API returned; follow the `Link: rel=next` header.",
    ),
    "unknown-symbol": (
        "Unknown symbol",
        "No instrument with this symbol is stored; `suggestions` lists close matches.",
    ),
    "market-data": ("Market data problem", "The request cannot be answered from the stored market data."),
    "unknown-strategy": (
        "Unknown strategy",
        "No bundled example has this name; `GET /api/v1/strategies` lists them.",
    ),
    "sandbox-required": (
        "Not implemented yet",
        "Running your own strategy source needs the sandboxed workers of the workspace; "
        "submit a bundled example meanwhile.",
    ),
    "backtest-not-finished": (
        "Backtest not finished",
        "The backtest is still queued or running; poll `GET /api/v1/backtests/{id}`.",
    ),
    "conflict": ("Conflict", "The request clashes with the current state."),
    "invalid-oauth-request": (
        "Invalid authorization request",
        "The OAuth authorization request cannot be honoured; `error` is its RFC 6749 code.",
    ),
    "sign-in-failed": (
        "Sign-in failed",
        "The sign-in with the outside provider could not be completed; `code` says why.",
    ),
    "server-error": ("Internal server error", "Something went wrong on our side; it has been logged."),
}
"""Quanta's problem types: slug -> (title, what it means)."""


class Problem(BaseModel):
    """A problem detail (RFC 9457); extension members (``errors``, ``missing_scopes``, …) may follow."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


class ApiProblem(Exception):  # noqa: N818 - raised as "the problem", like HTTPException
    """Raise from a route to answer with a problem: ``kind`` is a key of ``PROBLEM_TYPES`` (or None for
    a plain HTTP error), ``extensions`` become extra members."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        kind: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        self.status = status
        self.detail = detail
        self.kind = kind
        self.headers = dict(headers or {})
        self.extensions = extensions
        super().__init__(detail or HTTPStatus(status).phrase)


def problem_response(
    status: int,
    *,
    detail: str | None = None,
    kind: str | None = None,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
    request: Request | None = None,
) -> JSONResponse:
    """A ``application/problem+json`` response (with the request's rate-limit headers, if any)."""
    if kind is not None:
        title = PROBLEM_TYPES[kind][0]
        type_ = f"{PROBLEMS_PATH}/{kind}"
    else:
        title = HTTPStatus(status).phrase
        type_ = "about:blank"
    body: dict[str, Any] = {"type": type_, "title": title, "status": status}
    if detail and detail != title:
        body["detail"] = detail
    if request is not None:
        body["instance"] = request.url.path
    body.update(extensions or {})
    all_headers = dict(rate_limit_headers(request)) if request is not None else {}
    all_headers.update(headers or {})
    return JSONResponse(body, status_code=status, headers=all_headers, media_type=PROBLEM_JSON)


def rate_limit_headers(request: Request) -> dict[str, str]:
    """The ``RateLimit-*`` headers of the decision made for this request, if one was."""
    decision = getattr(request.state, "rate_limit", None)
    return decision.headers() if decision is not None else {}


# ---- handlers ------------------------------------------------------------------------------------------


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every error of ``app`` with a problem."""
    app.add_exception_handler(ApiProblem, _api_problem)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(AccountsError, _accounts_error)  # type: ignore[arg-type]
    app.add_exception_handler(MarketDataError, _market_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _server_error)


async def _api_problem(request: Request, exc: ApiProblem) -> JSONResponse:
    return problem_response(
        exc.status,
        detail=exc.detail,
        kind=exc.kind,
        headers=exc.headers,
        extensions=exc.extensions,
        request=request,
    )


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else None
    return problem_response(exc.status_code, detail=detail, headers=exc.headers, request=request)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [
        {
            "location": ".".join(str(part) for part in error.get("loc", ())),
            "message": str(error.get("msg", "")),
            "type": str(error.get("type", "")),
        }
        for error in exc.errors()
    ]
    count = len(errors)
    detail = f"The request has {count} invalid field{'s' if count != 1 else ''}."
    return problem_response(
        422, detail=detail, kind="validation", extensions={"errors": errors}, request=request
    )


_BEARER = 'Bearer realm="quanta"'


async def _accounts_error(request: Request, exc: AccountsError) -> JSONResponse:
    status, kind, extensions, headers = _accounts_problem(exc)
    return problem_response(
        status, detail=str(exc), kind=kind, headers=headers, extensions=extensions, request=request
    )


_PLAIN: tuple[tuple[type[AccountsError], int, str | None], ...] = (
    (InvalidCredentials, 401, None),
    (AccountDisabled, 401, None),
    (NotFound, 404, None),
    (NotAllowed, 403, "forbidden"),
    (Conflict, 409, "conflict"),
)


def _accounts_problem(exc: AccountsError) -> tuple[int, str | None, dict[str, Any], dict[str, str]]:
    if isinstance(exc, InsufficientScope):
        scope = " ".join(exc.missing)
        header = f'{_BEARER}, error="insufficient_scope", scope="{scope}"'
        return 403, "insufficient-scope", {"missing_scopes": list(exc.missing)}, {"WWW-Authenticate": header}
    if isinstance(exc, InvalidToken):
        return 401, "invalid-token", {}, {"WWW-Authenticate": f'{_BEARER}, error="invalid_token"'}
    if isinstance(exc, Throttled):
        return 429, "rate-limited", {"retry_after": exc.retry_after}, {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, PasswordPolicyError | InvalidInput):
        field = exc.field if isinstance(exc, InvalidInput) else "password"
        messages = exc.messages if isinstance(exc, PasswordPolicyError) else (str(exc),)
        return 422, "validation", {"errors": [{"location": field, "message": m} for m in messages]}, {}
    for kind, status, slug in _PLAIN:
        if isinstance(exc, kind):
            return status, slug, {}, {}
    return 400, None, {}, {}


async def _market_error(request: Request, exc: MarketDataError) -> JSONResponse:
    if isinstance(exc, UnknownSymbolError):
        extensions = {"symbol": exc.symbol, "suggestions": list(exc.suggestions)}
        return problem_response(
            404, detail=str(exc), kind="unknown-symbol", extensions=extensions, request=request
        )
    return problem_response(422, detail=str(exc), kind="market-data", request=request)


async def _server_error(request: Request, exc: Exception) -> JSONResponse:
    _log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(500, kind="server-error", request=request)
