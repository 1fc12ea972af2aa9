"""State of /strategies/[public_id]: one strategy — its header, latest source, versions and diffs, stars and
forks, and (for its owner) settings, collaborators and deletion.

Who may do what is decided by ``quanta.workspace`` alone: every handler resolves the session cookie again,
calls a service that checks the caller's access, and shows that service's error message. ``role`` only
decides which controls the page shows.

Hooks for the live editor and the run panel:

- ``strategy_id`` is the strategy's public id (``st_…``, the editor's room); ``role`` is the viewer's access
  (``owner``, ``editor``, ``viewer``, or '' when not loaded); ``can_edit`` says whether they may save.
- "Save version" saves the text of the strategy's editing room (``quanta.collab.room_text``: what every
  editor sees now); ``source`` — which the editor's ``on_change`` keeps up to date through ``set_source``
  — is the fallback when the room cannot be read. ``latest_source`` is the newest saved version's source
  and ``latest_version`` its number (0: none yet).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import reflex as rx
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from quanta import db
from quanta.accounts import AccountsError
from quanta.accounts.models import User
from quanta.collab import replace_room_text, room_text
from quanta.workspace import Access, CollaboratorRole, StrategyNotFound, Visibility, service
from quanta.workspace.models import (
    CollaboratorCreate,
    ForkCreate,
    Strategy,
    StrategyUpdate,
    VersionCreate,
)
from state.auth import AuthState
from state.views import invalid, last_segment, text
from state.workspace_views import (
    CollaboratorRow,
    DiffRow,
    LineageRow,
    PeerView,
    StrategyCard,
    VersionRow,
    collaborator_rows,
    diff_rows,
    embed_snippet,
    lineage_view,
    peer_views,
    person_color,
    strategy_card,
    tag_list,
    version_rows,
)

MAX_VERSIONS_SHOWN = 100
VISIBILITIES = [v.value for v in Visibility]
COLLABORATOR_ROLES = [r.value for r in CollaboratorRole]
EDITOR_STATUSES = ("connecting", "connected", "disconnected", "refused")

StrategyAction = Callable[[Session, User, Strategy], None]


def editing_text(public_id: str, fallback: str) -> str:
    """The text of a strategy's editing room (what every editor sees now), else ``fallback``."""
    if not public_id:
        return fallback
    try:
        return room_text(public_id) or fallback
    except (TimeoutError, SQLAlchemyError):
        return fallback


class StrategyState(AuthState):
    """One strategy as the signed-in person (or an anonymous visitor) sees it."""

    strategy_id: str = ""
    strategy: StrategyCard = StrategyCard()
    role: str = ""
    latest_version: int = 0
    latest_source: str = ""
    source: str = ""
    peers: list[PeerView] = []
    editor_status: str = ""
    versions: list[VersionRow] = []
    diff_old: str = ""
    diff_new: str = ""
    diff: list[DiffRow] = []
    diff_summary: str = ""
    collaborators: list[CollaboratorRow] = []
    ancestors: list[LineageRow] = []
    forks: list[LineageRow] = []
    origin: str = ""
    missing: bool = False
    loaded: bool = False
    confirming_delete: bool = False
    error: str = ""
    message: str = ""

    @rx.var
    def can_edit(self) -> bool:
        """Owners and editors save versions, restore them and change the description."""
        return self.role in (Access.OWNER.value, Access.EDITOR.value)

    @rx.var
    def is_owner(self) -> bool:
        """Only the owner changes visibility, manages collaborators and deletes."""
        return self.role == Access.OWNER.value

    @rx.var
    def is_collaborator(self) -> bool:
        """Editors and viewers the owner invited (they may leave)."""
        return self.role in (Access.EDITOR.value, Access.VIEWER.value) and any(
            c.username == self.viewer.username for c in self.collaborators
        )

    @rx.var
    def version_numbers(self) -> list[str]:
        """The version numbers, newest first, for the diff pickers."""
        return [str(row.number) for row in self.versions]

    @rx.var
    def user_color(self) -> str:
        """This person's colour in the editor (their cursor, their avatar for the others)."""
        return person_color(self.viewer.username or "guest")

    @rx.var
    def editor_name(self) -> str:
        """The name the others see at this person's cursor."""
        return self.viewer_name or "Guest"

    @rx.var
    def edited(self) -> bool:
        """Whether the editor's text differs from the latest saved version."""
        return self.latest_version > 0 and self.source != self.latest_source

    @rx.var
    def embeddable(self) -> bool:
        """Public and unlisted strategies can be embedded in other pages."""
        return self.strategy.visibility in (Visibility.PUBLIC.value, Visibility.UNLISTED.value)

    @rx.var
    def embed_code(self) -> str:
        """The ``<iframe>`` HTML that embeds this strategy's card."""
        if not self.strategy_id:
            return ""
        return embed_snippet(self.origin, self.strategy_id, self.strategy.title)

    # ---- reading -------------------------------------------------------------------------------------

    @rx.event
    def load(self) -> None:
        """Show the strategy of the URL (not found: no such strategy, or a private one of someone else)."""
        self.strategy_id, self.latest_version, self.latest_source, self.source = "", 0, "", ""
        self.strategy, self.role, self.missing, self.loaded = StrategyCard(), "", False, False
        self.peers, self.editor_status = [], ""
        self.diff, self.diff_summary, self.diff_old, self.diff_new = [], "", "", ""
        self.confirming_delete, self.error, self.message = False, "", ""
        self.origin = self.router.url.origin
        public_id = last_segment(self.router.url.path)
        try:
            with db.session() as unit:
                user = self._user(unit)
                strategy = service.strategy_by_public_id(
                    session=unit, public_id=public_id, user_id=self._user_id
                )
                self._show(unit, user, strategy)
        except StrategyNotFound as exc:
            self.missing, self.error = True, str(exc)
        except AccountsError as exc:
            self.error = str(exc)
        self.loaded = True

    @rx.event
    def refresh(self, version: str) -> None:
        """Show the versions again when someone on the page saved version ``version`` (or restored one)."""
        if not self.strategy_id or not version.isdigit() or int(version) <= self.latest_version:
            return
        try:
            with db.session() as unit:
                user = self._user(unit)
                self._show(unit, user, self._strategy(unit))
        except StrategyNotFound as exc:
            self.missing, self.error = True, str(exc)
        except AccountsError as exc:
            self.error = str(exc)

    @rx.event
    def reshow(self) -> None:
        """Show the strategy again (its verified backtest changed: a run of it was verified)."""
        if not self.strategy_id:
            return
        try:
            with db.session() as unit:
                user = self._user(unit)
                self._show(unit, user, self._strategy(unit))
        except AccountsError as exc:
            self.error = str(exc)

    @rx.event
    def set_source(self, source: str) -> None:
        """The text a "Save version" saves (the editor reports every change here)."""
        self.source = source

    @rx.event
    def set_peers(self, peers: list[dict[str, str]]) -> None:
        """Who else is in the editing room (as their editors say; names and colours are checked)."""
        self.peers = peer_views(peers)

    @rx.event
    def set_editor_status(self, status: str) -> None:
        """The editor's connection: connecting, connected, disconnected or refused."""
        self.editor_status = status if status in EDITOR_STATUSES else ""

    @rx.event
    def set_diff_old(self, number: str) -> None:
        """The older side of the diff."""
        self.diff_old = number

    @rx.event
    def set_diff_new(self, number: str) -> None:
        """The newer side of the diff."""
        self.diff_new = number

    @rx.event
    def compare(self) -> None:
        """Show what changed between the two chosen versions."""
        self.error = ""
        try:
            old, new = int(self.diff_old), int(self.diff_new)
        except ValueError:
            self.error = "Choose two versions to compare."
            return
        try:
            with db.session() as unit:
                self._resolve(unit)
                strategy = self._strategy(unit)
                diff = service.diff_versions(
                    session=unit, strategy=strategy, user_id=self._user_id, old=old, new=new
                )
        except AccountsError as exc:
            self.error = str(exc)
            return
        self.diff = diff_rows(diff)
        self.diff_summary = f"v{old} → v{new}: {diff.added} added, {diff.removed} removed"

    # ---- writing -------------------------------------------------------------------------------------

    @rx.event
    def save_version(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Save the text as the next version: the form's ``source`` field if it has one, else what the
        strategy's editing room holds now (``quanta.collab.room_text``), else ``source``."""
        if "source" in form:
            self.source = str(form["source"] or "").replace("\r\n", "\n")
        else:
            self.source = editing_text(self.strategy_id, self.source)
        try:
            version_in = VersionCreate(source=self.source, message=text(form, "message"))
        except ValidationError as exc:
            self.error = invalid(exc)
            return None

        def run(unit: Session, user: User, strategy: Strategy) -> None:
            saved = service.create_version(session=unit, actor=user, strategy=strategy, version_in=version_in)
            self.message = f"Saved version {saved.number}."

        return self._act(run)

    @rx.event
    async def restore(self, number: int) -> rx.event.EventSpec | None:
        """Save version ``number``'s source again as the newest version, and put it in the editor for
        everyone editing (only the lines that differ change)."""
        try:
            wanted = int(number)
        except (TypeError, ValueError):
            self.error = "Choose a version to restore."
            return None
        restored: list[str] = []

        def run(unit: Session, user: User, strategy: Strategy) -> None:
            saved = service.restore_version(session=unit, actor=user, strategy=strategy, number=wanted)
            restored.append(saved.source)
            self.message = f"Restored version {wanted} as version {saved.number}."

        result = self._act(run)
        if restored:
            try:
                await replace_room_text(self.strategy_id, restored[0])
            except (TimeoutError, SQLAlchemyError):
                self.error = "The version was restored, but the editor could not be updated: reload the page."
        return result

    @rx.event
    def toggle_star(self) -> rx.event.EventSpec | None:
        """Star the strategy, or take your star off."""

        def run(unit: Session, user: User, strategy: Strategy) -> None:
            if service.has_starred(session=unit, strategy=strategy, user_id=user.id):
                service.unstar_strategy(session=unit, actor=user, strategy=strategy)
            else:
                service.star_strategy(session=unit, actor=user, strategy=strategy)

        return self._act(run)

    @rx.event
    def fork(self) -> rx.event.EventSpec | None:
        """Fork the latest version into a new private strategy of yours, and open it."""
        address: list[str] = []

        def run(unit: Session, user: User, strategy: Strategy) -> None:
            fork = service.fork_strategy(session=unit, actor=user, strategy=strategy, fork_in=ForkCreate())
            address.append(f"/strategies/{fork.public_id}")

        result = self._act(run, show=False)
        return rx.redirect(address[0]) if address else result

    @rx.event
    def update_details(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Change the title, description and tags."""
        try:
            strategy_in = StrategyUpdate(
                title=text(form, "title"),
                description=str(form.get("description") or ""),
                tags=tag_list(text(form, "tags")),
            )
        except ValidationError as exc:
            self.error = invalid(exc)
            return None

        def run(unit: Session, user: User, strategy: Strategy) -> None:
            service.update_strategy(session=unit, actor=user, strategy=strategy, strategy_in=strategy_in)
            self.message = "Details saved."

        return self._act(run)

    @rx.event
    def set_visibility(self, visibility: str) -> rx.event.EventSpec | None:
        """Make the strategy private, unlisted or public."""
        if visibility not in VISIBILITIES:
            self.error = f"{visibility!r} is not a visibility."
            return None

        def run(unit: Session, user: User, strategy: Strategy) -> None:
            update = StrategyUpdate(visibility=Visibility(visibility))
            service.update_strategy(session=unit, actor=user, strategy=strategy, strategy_in=update)
            self.message = f"The strategy is now {visibility}."

        return self._act(run)

    @rx.event
    def invite(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Share the strategy with someone, by username, as a viewer or an editor."""
        try:
            collaborator_in = CollaboratorCreate(
                username=text(form, "username").lower(),
                role=CollaboratorRole(text(form, "role") or CollaboratorRole.VIEWER.value),
            )
        except (ValidationError, ValueError) as exc:
            self.error = invalid(exc) if isinstance(exc, ValidationError) else str(exc)
            return None

        def run(unit: Session, user: User, strategy: Strategy) -> None:
            service.add_collaborator(
                session=unit, actor=user, strategy=strategy, collaborator_in=collaborator_in
            )
            self.message = f"Shared with {collaborator_in.username} as {collaborator_in.role.value}."

        return self._act(run)

    @rx.event
    def change_role(self, username: str, role: str) -> rx.event.EventSpec | None:
        """Give a collaborator another role."""
        if role not in COLLABORATOR_ROLES:
            self.error = f"{role!r} is not a role."
            return None

        def run(unit: Session, user: User, strategy: Strategy) -> None:
            service.change_collaborator_role(
                session=unit, actor=user, strategy=strategy, username=username, role=CollaboratorRole(role)
            )
            self.message = f"{username} is now {role}."

        return self._act(run)

    @rx.event
    def remove_collaborator(self, username: str) -> rx.event.EventSpec | None:
        """Stop sharing the strategy with ``username``."""

        def run(unit: Session, user: User, strategy: Strategy) -> None:
            service.remove_collaborator(session=unit, actor=user, strategy=strategy, username=username)
            self.message = f"{username} no longer has access."

        return self._act(run)

    @rx.event
    def leave(self) -> rx.event.EventSpec | None:
        """Remove yourself as a collaborator, then go to the gallery."""

        def run(unit: Session, user: User, strategy: Strategy) -> None:
            service.remove_collaborator(
                session=unit, actor=user, strategy=strategy, username=self.viewer.username
            )

        return self._act(run, show=False, then="/strategies")

    @rx.event
    def ask_delete(self, is_open: bool) -> None:
        """Open or close the delete confirmation."""
        self.confirming_delete = is_open

    @rx.event
    def delete(self) -> rx.event.EventSpec | None:
        """Delete the strategy with its versions (its forks stay), then go to your strategies."""
        self.confirming_delete = False

        def run(unit: Session, user: User, strategy: Strategy) -> None:
            service.delete_strategy(session=unit, actor=user, strategy=strategy)

        return self._act(run, show=False, then="/strategies?tab=mine")

    # ---- helpers -------------------------------------------------------------------------------------

    def _strategy(self, unit: Session) -> Strategy:
        """The strategy of this page, if the (already resolved) viewer may read it."""
        public_id = self.strategy_id or last_segment(self.router.url.path)
        return service.strategy_by_public_id(session=unit, public_id=public_id, user_id=self._user_id)

    def _act(
        self, action: StrategyAction, *, show: bool = True, then: str | None = None
    ) -> rx.event.EventSpec | None:
        """Resolve the signed-in user and the strategy, run ``action`` (a service call that checks the
        user's access), then show the strategy again or go to ``then``; errors are shown as they come."""
        self.error, self.message = "", ""
        try:
            with db.session() as unit:
                user = self._user(unit)
                if user is None:
                    return self._to_sign_in()
                strategy = self._strategy(unit)
                action(unit, user, strategy)
                if show:
                    self._show(unit, user, strategy)
        except StrategyNotFound as exc:
            self.missing, self.error = True, str(exc)
            return None
        except AccountsError as exc:
            self.error = str(exc)
            return None
        except ValidationError as exc:
            self.error = invalid(exc)
            return None
        return rx.redirect(then) if then is not None else None

    def _show(self, unit: Session, user: User | None, strategy: Strategy) -> None:
        """Fill the view model: header, latest source, versions, collaborators and lineage."""
        user_id = user.id if user is not None else None
        view = service.strategy_view(session=unit, strategy=strategy, user_id=user_id)
        self.strategy_id = view.id
        self.strategy = strategy_card(view)
        self.role = view.role.value if view.role is not None else ""
        if view.latest_version != self.latest_version or not self.latest_source:
            latest = (
                service.get_version(session=unit, strategy=strategy, user_id=user_id)
                if view.latest_version > 0
                else None
            )
            self.latest_source = latest.source if latest is not None else ""
            self.source = self.latest_source
            self.latest_version = view.latest_version
            self.diff_new = str(view.latest_version) if view.latest_version else ""
            self.diff_old = str(max(1, view.latest_version - 1)) if view.latest_version else ""
        listed = service.list_versions(
            session=unit, strategy=strategy, user_id=user_id, limit=MAX_VERSIONS_SHOWN
        ).items
        self.versions = version_rows(
            service.version_summaries(session=unit, versions=listed), latest=view.latest_version
        )
        self.collaborators = collaborator_rows(
            service.list_collaborators(session=unit, strategy=strategy, user_id=user_id)
        )
        self.ancestors, self.forks = lineage_view(
            service.lineage(session=unit, strategy=strategy, user_id=user_id)
        )
