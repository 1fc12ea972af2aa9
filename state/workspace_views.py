"""View models of the workspace pages (gallery, one strategy, embed): small frozen rows the browser gets.

Pure functions from the workspace's public models (``StrategyPublic``, ``VersionSummary``, ``VersionDiff``,
``CollaboratorPublic``, ``Lineage``) to what the pages show; numbers are formatted here, once. User text
(titles, descriptions, messages) is passed through as text: the components render it in text nodes, which
React escapes.
"""

from __future__ import annotations

import colorsys
import dataclasses
import html
import re
import zlib

from quanta.workspace.models import (
    CollaboratorPublic,
    Lineage,
    LineageEntry,
    StrategyPublic,
    VersionDiff,
    VersionSummary,
)
from state.views import when

_TAG_SEPARATORS = re.compile(r"[,\s]+")


@dataclasses.dataclass(frozen=True)
class StrategyCard:
    """A strategy as a card or a page header shows it; ``id`` is its public id (``st_…``)."""

    id: str = ""
    title: str = ""
    description: str = ""
    owner: str = ""
    visibility: str = ""
    tags: list[str] = dataclasses.field(default_factory=list)
    stars: int = 0
    forks: int = 0
    starred: bool = False
    role: str = ""
    latest_version: int = 0
    updated: str = ""
    is_fork: bool = False
    forked_from_id: str = ""
    forked_from_title: str = ""
    forked_from_owner: str = ""
    forked_from_version: str = ""
    verified: bool = False
    return_pct: str = ""
    sharpe: str = ""
    max_drawdown_pct: str = ""
    verified_at: str = ""
    verified_version: str = ""


@dataclasses.dataclass(frozen=True)
class VersionRow:
    """One saved version, as listed (newest first)."""

    number: int = 0
    author: str = ""
    created: str = ""
    message: str = ""
    restored_from: str = ""
    is_latest: bool = False


@dataclasses.dataclass(frozen=True)
class DiffRow:
    """One line of a diff view: ``kind`` is ``add``, ``remove``, ``context`` or ``hunk`` (a header)."""

    kind: str = "context"
    old_line: str = ""
    new_line: str = ""
    text: str = ""


@dataclasses.dataclass(frozen=True)
class CollaboratorRow:
    """A person the owner shares the strategy with."""

    username: str = ""
    display_name: str = ""
    role: str = ""
    added: str = ""


@dataclasses.dataclass(frozen=True)
class LineageRow:
    """A strategy in a lineage; ``visible`` false: one the viewer may not read, or a deleted one."""

    visible: bool = False
    id: str = ""
    title: str = ""
    owner: str = ""
    version: str = ""


def percent(value: float | None) -> str:
    """'12.34 %' ('—' when there is no figure)."""
    return "—" if value is None else f"{value:.2f} %"


def ratio(value: float | None) -> str:
    """'1.23' ('—' when undefined, as a Sharpe ratio of a flat equity curve is)."""
    return "—" if value is None else f"{value:.2f}"


def strategy_card(view: StrategyPublic) -> StrategyCard:
    """``view`` as a card (or page header)."""
    origin = view.forked_from
    backtest = view.verified_backtest
    return StrategyCard(
        id=view.id,
        title=view.title,
        description=view.description,
        owner=view.owner,
        visibility=view.visibility.value,
        tags=list(view.tags),
        stars=view.star_count,
        forks=view.fork_count,
        starred=view.starred,
        role=view.role.value if view.role is not None else "",
        latest_version=view.latest_version,
        updated=when(view.updated_at),
        is_fork=view.is_fork,
        forked_from_id=origin.id if origin is not None else "",
        forked_from_title=origin.title if origin is not None else "",
        forked_from_owner=origin.owner if origin is not None else "",
        forked_from_version=str(origin.version) if origin is not None and origin.version else "",
        verified=backtest is not None,
        return_pct=percent(backtest.return_pct) if backtest is not None else "",
        sharpe=ratio(backtest.sharpe) if backtest is not None else "",
        max_drawdown_pct=percent(backtest.max_drawdown_pct) if backtest is not None else "",
        verified_at=when(backtest.as_of) if backtest is not None else "",
        verified_version=str(backtest.version) if backtest is not None and backtest.version else "",
    )


def version_rows(summaries: list[VersionSummary], *, latest: int) -> list[VersionRow]:
    """Versions as listed; the one numbered ``latest`` is marked."""
    return [
        VersionRow(
            number=item.number,
            author=item.author or "(deleted account)",
            created=when(item.created_at),
            message=item.message,
            restored_from=str(item.restored_from) if item.restored_from is not None else "",
            is_latest=item.number == latest,
        )
        for item in summaries
    ]


def diff_rows(diff: VersionDiff) -> list[DiffRow]:
    """The hunks of ``diff`` as one list of rows, each hunk led by its ``@@ … @@`` header."""
    rows: list[DiffRow] = []
    for hunk in diff.hunks:
        rows.append(DiffRow(kind="hunk", text=hunk.header))
        rows.extend(
            DiffRow(
                kind=line.kind,
                old_line=str(line.old_line) if line.old_line is not None else "",
                new_line=str(line.new_line) if line.new_line is not None else "",
                text=line.text,
            )
            for line in hunk.lines
        )
    return rows


def collaborator_rows(collaborators: list[CollaboratorPublic]) -> list[CollaboratorRow]:
    """Collaborators as listed."""
    return [
        CollaboratorRow(
            username=item.username,
            display_name=item.display_name or item.username,
            role=item.role.value,
            added=when(item.added_at),
        )
        for item in collaborators
    ]


def lineage_rows(entries: list[LineageEntry]) -> list[LineageRow]:
    """Lineage entries as rows; placeholders keep only the version number."""
    return [
        LineageRow(
            visible=entry.visible,
            id=entry.id or "",
            title=entry.title or "",
            owner=entry.owner or "",
            version=str(entry.version) if entry.version is not None else "",
        )
        for entry in entries
    ]


def lineage_view(lineage: Lineage) -> tuple[list[LineageRow], list[LineageRow]]:
    """(ancestors, forks) of ``lineage`` as rows."""
    return lineage_rows(lineage.ancestors), lineage_rows(lineage.forks)


def tag_list(text: str) -> list[str]:
    """The tags typed in one field, separated by commas or spaces ('' entries dropped)."""
    return [tag for tag in _TAG_SEPARATORS.split(text.strip()) if tag]


@dataclasses.dataclass(frozen=True)
class PeerView:
    """Someone else in a strategy's editing room: their name, initials and colour."""

    name: str = ""
    initials: str = ""
    color: str = ""


MAX_PEERS = 30
MAX_PEER_NAME = 60
DEFAULT_PEER_COLOR = "#6b7280"
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def person_color(name: str) -> str:
    """A stable colour for a person in the editor (``#rrggbb``), from their name."""
    hue = zlib.crc32(name.encode()) % 360 / 360
    red, green, blue = colorsys.hls_to_rgb(hue, 0.42, 0.7)
    return f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}"


def peer_views(peers: object) -> list[PeerView]:
    """The people an editor reports in its room: at most 30, names trimmed to 60 characters, colours
    only ``#rrggbb`` (anything else is grey), one entry per name and colour."""
    if not isinstance(peers, list):
        return []
    views: list[PeerView] = []
    seen: set[tuple[str, str]] = set()
    for peer in peers:
        if not isinstance(peer, dict):
            continue
        name = " ".join(str(peer.get("name") or "").split())[:MAX_PEER_NAME]
        color = str(peer.get("color") or "")
        color = color if _COLOR.match(color) else DEFAULT_PEER_COLOR
        if not name or (name, color) in seen:
            continue
        seen.add((name, color))
        initials = "".join(part[0] for part in name.split()[:2]).upper() or name[:1].upper()
        views.append(PeerView(name=name, initials=initials, color=color))
        if len(views) == MAX_PEERS:
            break
    return views


def embed_snippet(origin: str, public_id: str, title: str) -> str:
    """The HTML that embeds the read-only card of ``public_id`` in another page."""
    safe_title = html.escape(title, quote=True)
    return (
        f'<iframe src="{origin.rstrip("/")}/embed/{public_id}" title="{safe_title} on Quanta" '
        'width="480" height="220" style="border:0" loading="lazy"></iframe>'
    )
