"""Small formatting helpers shared by the account states: times, scopes, form fields, error texts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError


def when(moment: datetime | None, *, empty: str = "—") -> str:
    """'2024-05-01 14:03 UTC' (stored times are UTC; SQLite returns them without a zone)."""
    if moment is None:
        return empty
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def last_segment(path: str) -> str:
    """The last part of a URL path: the ``[slug]`` of ``/orgs/[slug]`` (with or without a trailing /)."""
    return path.rstrip("/").rpartition("/")[2]


def text(form: Mapping[str, Any], name: str) -> str:
    """A form field as trimmed text ('' when absent)."""
    return str(form.get(name) or "").strip()


def checked(form: Mapping[str, Any], prefix: str) -> list[str]:
    """The names after ``prefix`` of the checked boxes of a form (``prefix + name`` → 'on')."""
    return [key.removeprefix(prefix) for key, value in form.items() if key.startswith(prefix) and value]


def lines(value: str) -> list[str]:
    """The non-empty lines of a text area."""
    return [line.strip() for line in value.splitlines() if line.strip()]


def invalid(exc: ValidationError) -> str:
    """The first problem of a pydantic validation error, in words a person can act on."""
    errors = exc.errors()
    if not errors:
        return "Check the form and try again."
    first = errors[0]
    field = " ".join(str(part) for part in first.get("loc", ()) if isinstance(part, str)).replace("_", " ")
    message = str(first.get("msg", "is not valid"))
    return f"{field.capitalize()}: {message}." if field else f"{message}."
