"""Input checks of the workspace: titles, descriptions, tags, messages and sources.

The input models reject wrong lengths at parse time; these check meaning and give the messages people see.
Control characters are refused in one-line fields (PostgreSQL cannot store NUL in text at all).
"""

from __future__ import annotations

import ast
import re
import unicodedata
import warnings
from collections.abc import Iterable

from quanta.workspace.errors import InvalidInput, InvalidSource
from quanta.workspace.models import (
    MAX_DESCRIPTION,
    MAX_MESSAGE,
    MAX_SOURCE_BYTES,
    MAX_TAG,
    MAX_TAGS,
    MAX_TITLE,
    PUBLIC_ID_LENGTH,
    USERNAME_LENGTH,
)

_TAG = re.compile(rf"^[a-z0-9](?:[a-z0-9-]{{0,{MAX_TAG - 2}}}[a-z0-9])?$")
_USERNAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
_PUBLIC_ID = re.compile(rf"^st_[A-Za-z0-9_-]{{1,{PUBLIC_ID_LENGTH - 3}}}$")
_MULTILINE_OK = frozenset("\n\t")


def check_title(title: str) -> str:
    """``title`` trimmed: 1 to 100 characters on one line."""
    cleaned = title.strip()
    if not cleaned or len(cleaned) > MAX_TITLE:
        raise InvalidInput("title", f"Give the strategy a title of 1 to {MAX_TITLE} characters.")
    _refuse_control(cleaned, field="title", allowed=frozenset())
    return cleaned


def check_description(description: str) -> str:
    """``description`` trimmed, with Unix line ends: at most 2000 characters."""
    cleaned = description.replace("\r\n", "\n").strip()
    if len(cleaned) > MAX_DESCRIPTION:
        raise InvalidInput("description", f"Keep the description under {MAX_DESCRIPTION} characters.")
    _refuse_control(cleaned, field="description", allowed=_MULTILINE_OK)
    return cleaned


def check_message(message: str) -> str:
    """A version message trimmed: at most 500 characters."""
    cleaned = message.replace("\r\n", "\n").strip()
    if len(cleaned) > MAX_MESSAGE:
        raise InvalidInput("message", f"Keep the message under {MAX_MESSAGE} characters.")
    _refuse_control(cleaned, field="message", allowed=_MULTILINE_OK)
    return cleaned


def check_tags(tags: Iterable[str]) -> list[str]:
    """Tags lower-cased and deduplicated in order: at most 10, each of letters, digits and hyphens."""
    cleaned = list(dict.fromkeys(tag.strip().lower() for tag in tags))
    if len(cleaned) > MAX_TAGS:
        raise InvalidInput("tags", f"Use at most {MAX_TAGS} tags.")
    for tag in cleaned:
        check_tag(tag)
    return cleaned


def check_tag(tag: str, *, field: str = "tags") -> str:
    """One tag as stored; ``InvalidInput`` says what a tag may be."""
    if not _TAG.match(tag):
        raise InvalidInput(
            field,
            f"{tag[:40]!r} is not a tag: use 1 to {MAX_TAG} lower-case letters, digits or hyphens, "
            "starting and ending with a letter or digit.",
        )
    return tag


def check_source(source: str) -> str:
    """``source`` if it is at most 200 KB of Python that parses; ``InvalidSource`` says where it does not."""
    size = len(source.encode("utf-8", errors="surrogatepass"))
    if size > MAX_SOURCE_BYTES:
        raise InvalidSource(f"The source is {size:,} bytes; the limit is {MAX_SOURCE_BYTES:,} bytes.")
    if not source.strip():
        raise InvalidSource("The source is empty.")
    _parse(source)
    return source


def _parse(source: str) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. SyntaxWarning for invalid escapes: still Python
            ast.parse(source, filename="<strategy>")
    except SyntaxError as exc:
        line, column = exc.lineno, exc.offset
        if line is None or column is None:
            raise InvalidSource(f"The source is not valid Python: {exc.msg}.") from exc
        raise InvalidSource(f"Line {line}, column {column}: {exc.msg}.", line=line, column=column) from exc
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes; absurd nesting
        raise InvalidSource(f"The source is not valid Python: {exc}.") from exc


def is_public_id(value: str) -> bool:
    """Whether ``value`` is shaped like a strategy id (checked before any query)."""
    return bool(_PUBLIC_ID.match(value))


def is_username(value: str) -> bool:
    """Whether ``value`` is shaped like a username (checked before any query)."""
    return len(value) <= USERNAME_LENGTH and bool(_USERNAME.match(value))


def check_search_text(text: str, *, field: str) -> str:
    """Free search text trimmed; control characters refused."""
    cleaned = text.strip()
    _refuse_control(cleaned, field=field, allowed=frozenset())
    return cleaned


def _refuse_control(text: str, *, field: str, allowed: frozenset[str]) -> None:
    for char in text:
        if char not in allowed and unicodedata.category(char) in ("Cc", "Cs"):
            raise InvalidInput(field, f"The {field} contains a control character ({ord(char):#04x}).")
