"""Markdown to safe HTML, in two layers.

1. markdown-it-py (CommonMark) with raw HTML off, so ``<script>`` is text, never a tag; links and
   autolinks only when they start with ``http://``, ``https://`` or ``mailto:`` (checked after
   markdown-it has decoded entities and escapes, so ``jav&#x61;script:`` is refused too); no images
   (no tracking pixels), no headings (``# text`` stays text in a chat line); single newlines break lines.
   ``@username`` becomes a mention where the caller says the name is one.
2. nh3 (ammonia) cleans the result against an allow-list of tags and attributes, again allows only
   those URL schemes (relative URLs are dropped), and adds ``rel="nofollow noopener noreferrer"`` to
   every link. Even if the first layer had a bug, the second lets no script, style, event handler or
   foreign URL scheme through.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any, Final

import nh3
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

__all__ = [
    "ALLOWED_SCHEMES",
    "ALLOWED_TAGS",
    "Rendered",
    "mention_candidates",
    "render_markdown",
    "sanitize_html",
]

ALLOWED_TAGS: Final = frozenset(
    {"p", "br", "strong", "em", "s", "code", "pre", "blockquote", "ul", "ol", "li", "a", "hr", "span"}
)
ALLOWED_SCHEMES: Final = frozenset({"http", "https", "mailto"})
LINK_REL: Final = "nofollow noopener noreferrer"
_ATTRIBUTES: Final = {"a": {"href", "title"}, "ol": {"start"}, "code": {"class"}, "span": {"class"}}
_LINK = re.compile(r"^(?:https?://|mailto:)[^\x00-\x20\x7f]*$", re.IGNORECASE)
_MENTION = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?")
_NOT_BEFORE_MENTION = frozenset("_-.+/@`")
_LANGUAGE_CLASS = re.compile(r"^language-[A-Za-z0-9_+#-]{1,32}$")
MENTION_CLASS: Final = "mention"


@dataclass(frozen=True, kw_only=True)
class Rendered:
    """Safe HTML and the usernames (lower-case, in order of first appearance) it mentions."""

    html: str
    mentions: tuple[str, ...]


def _safe_link(url: str) -> bool:
    return _LINK.match(url.strip()) is not None


def _mention_rule(state: StateInline, silent: bool) -> bool:
    """``@name`` at the start of a word (not inside an address such as ``ada@example.com``)."""
    pos = state.pos
    if state.src[pos] != "@":
        return False
    before = state.src[pos - 1] if pos > 0 else " "
    if before.isalnum() or before in _NOT_BEFORE_MENTION:
        return False
    found = _MENTION.match(state.src, pos + 1, state.posMax)
    if found is None:
        return False
    after = state.src[found.end()] if found.end() < state.posMax else " "
    if after.isalnum() or after in "-_":  # longer than a username, or not one
        return False
    if not silent:
        token = state.push("mention", "", 0)
        token.content = "@" + found.group(0)
        token.meta = {"username": found.group(0).lower()}
    state.pos = found.end()
    return True


def _render_mention(
    renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    text = escape(token.content, quote=True)
    if token.meta.get("username") in env.get("mentions", ()):
        return f'<span class="{MENTION_CLASS}">{text}</span>'
    return text


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True, "maxNesting": 20})
    md.disable(["image", "heading", "lheading", "html_block", "html_inline"])
    md.enable("strikethrough")
    md.validateLink = _safe_link  # type: ignore[method-assign]
    md.inline.ruler.after("text", "mention", _mention_rule)
    md.add_render_rule("mention", _render_mention)
    return md


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute != "class":
        return value
    if tag == "span":
        return value if value == MENTION_CLASS else None
    if tag == "code":
        return value if _LANGUAGE_CLASS.match(value) else None
    return None


_MD: Final = _parser()
_CLEANER: Final = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags={"script", "style"},
    attributes=_ATTRIBUTES,
    attribute_filter=_keep_attribute,
    strip_comments=True,
    link_rel=LINK_REL,
    url_schemes=set(ALLOWED_SCHEMES),
    url_relative="deny",
)


def _mention_tokens(tokens: Sequence[Token]) -> Iterator[Token]:
    for token in tokens:
        if token.type == "mention":
            yield token
        if token.children:
            yield from _mention_tokens(token.children)


def _first_seen(names: Iterator[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


def mention_candidates(body: str) -> tuple[str, ...]:
    """The ``@usernames`` in ``body`` (lower-case, first appearance first), outside code."""
    tokens = _MD.parse(body, {})
    return _first_seen(str(t.meta["username"]) for t in _mention_tokens(tokens))


def sanitize_html(html: str) -> str:
    """``html`` cut down to the allow-list (the second layer of ``render_markdown``)."""
    return _CLEANER.clean(html)


def render_markdown(body: str, *, mentions: Collection[str] | Callable[[str], bool] = ()) -> Rendered:
    """``body`` as sanitised HTML. ``mentions`` says which lower-case usernames are mentions (a set, or
    a predicate); other ``@names`` stay plain text."""
    tokens = _MD.parse(body, {})
    candidates = _first_seen(str(t.meta["username"]) for t in _mention_tokens(tokens))
    accept = mentions if callable(mentions) else frozenset(mentions).__contains__
    mentioned = tuple(name for name in candidates if accept(name))
    env: dict[str, Any] = {"mentions": frozenset(mentioned)}
    html = _MD.renderer.render(tokens, _MD.options, env)
    return Rendered(html=sanitize_html(html).strip(), mentions=mentioned)
