"""State of /strategies: the gallery of public strategies (search, tag, author, sort, pages), the signed-in
person's own strategies and those shared with them, and creating a strategy from a bundled example."""

from __future__ import annotations

from typing import Any

import reflex as rx
from pydantic import ValidationError
from sqlmodel import Session

from quanta import db
from quanta.accounts import AccountsError
from quanta.accounts.models import User
from quanta.examples import catalog
from quanta.workspace import service
from quanta.workspace.models import GalleryQuery, GallerySort, Page, Strategy, StrategyCreate
from state.auth import AuthState
from state.views import invalid, text
from state.workspace_views import StrategyCard, strategy_card

PAGE_SIZE = 12
GALLERY, MINE, SHARED = "gallery", "mine", "shared"
TABS = (GALLERY, MINE, SHARED)
SORTS = [sort.value for sort in GallerySort]
SORT_LABELS = {
    GallerySort.STARS.value: "Most starred",
    GallerySort.FORKS.value: "Most forked",
    GallerySort.RECENT.value: "Recently changed",
    GallerySort.SHARPE.value: "Best Sharpe ratio",
    GallerySort.RETURN.value: "Best return",
}
TEMPLATES = [{"name": e.name, "title": e.title} for e in catalog()]
"""The bundled examples a new strategy can start from (its version 1 is the example's source)."""


class GalleryState(AuthState):
    """The cards of the current tab and page, the search that chose them, and the new-strategy form."""

    tab: str = GALLERY
    query_text: str = ""
    tag: str = ""
    author: str = ""
    sort: str = GallerySort.STARS.value
    offset: int = 0
    next_offset: int = -1
    cards: list[StrategyCard] = []
    loaded: bool = False
    error: str = ""
    create_error: str = ""
    creating: bool = False

    @rx.var
    def has_previous(self) -> bool:
        """Whether there is a page before this one."""
        return self.offset > 0

    @rx.var
    def has_next(self) -> bool:
        """Whether there is a page after this one."""
        return self.next_offset >= 0

    @rx.event
    def load(self) -> None:
        """Open the tab and search of the URL (``?tab=mine``, ``?q=…&tag=…&author=…&sort=…``)."""
        params = self.router.url.query_parameters
        self.tab = str(params.get("tab", "") or GALLERY)
        self.query_text = str(params.get("q", "") or "")
        self.tag = str(params.get("tag", "") or "")
        self.author = str(params.get("author", "") or "")
        wanted_sort = str(params.get("sort", "") or GallerySort.STARS.value)
        self.sort = wanted_sort if wanted_sort in SORTS else GallerySort.STARS.value
        self.offset = 0
        self.creating = False
        self.create_error = ""
        self._list()

    @rx.event
    def search(self, form: dict[str, Any]) -> None:
        """Search the gallery with the form's words, tag and author, from the first page."""
        self.query_text, self.tag, self.author = text(form, "q"), text(form, "tag"), text(form, "author")
        self.tab, self.offset = GALLERY, 0
        self._list()

    @rx.event
    def filter_tag(self, tag: str) -> None:
        """Show the public strategies with ``tag`` (a card's tag was clicked)."""
        self.tag, self.tab, self.offset = tag, GALLERY, 0
        self._list()

    @rx.event
    def set_sort(self, sort: str) -> None:
        """Order the gallery another way, from the first page."""
        self.sort = sort if sort in SORTS else GallerySort.STARS.value
        self.offset = 0
        self._list()

    @rx.event
    def set_tab(self, tab: str) -> None:
        """Show the gallery, your strategies, or those shared with you."""
        self.tab = tab if tab in TABS else GALLERY
        self.offset = 0
        self._list()

    @rx.event
    def next_page(self) -> None:
        """The next page of cards."""
        if self.next_offset >= 0:
            self.offset = self.next_offset
            self._list()

    @rx.event
    def previous_page(self) -> None:
        """The page of cards before this one."""
        self.offset = max(0, self.offset - PAGE_SIZE)
        self._list()

    @rx.event
    def open_create(self, is_open: bool) -> None:
        """Open or close the new-strategy dialog."""
        self.creating = is_open
        self.create_error = ""

    @rx.event
    def create(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Create a private strategy whose version 1 is the chosen example's source, and open it."""
        self.create_error = ""
        template = next((e for e in catalog() if e.name == text(form, "template")), None)
        if template is None:
            self.create_error = "Choose a starting template."
            return None
        try:
            strategy_in = StrategyCreate(
                title=text(form, "title"),
                description=template.description,
                source=template.path.read_text(encoding="utf-8"),
                message=f"Started from the {template.title} example",
            )
            with db.session() as unit:
                user = self._user(unit)
                if user is None:
                    return self._to_sign_in()
                created = service.create_strategy(session=unit, owner=user, strategy_in=strategy_in)
                address = f"/strategies/{created.public_id}"
        except AccountsError as exc:
            self.create_error = str(exc)
            return None
        except ValidationError as exc:
            self.create_error = invalid(exc)
            return None
        self.creating = False
        return rx.redirect(address)

    def _list(self) -> None:
        """Fill ``cards`` with the current tab's page (the signed-in person's view of each)."""
        self.error = ""
        try:
            with db.session() as unit:
                user = self._user(unit)
                found = self._page(unit, user)
                views = service.strategy_views(session=unit, strategies=found.items, user_id=self._user_id)
        except AccountsError as exc:
            self.error = str(exc)
            found, views = Page(items=[], next_offset=None), []
        except ValidationError as exc:
            self.error = invalid(exc)
            found, views = Page(items=[], next_offset=None), []
        self.cards = [strategy_card(view) for view in views]
        self.next_offset = found.next_offset if found.next_offset is not None else -1
        self.loaded = True

    def _page(self, unit: Session, user: User | None) -> Page[Strategy]:
        if self.tab == MINE and user is not None:
            return service.list_own_strategies(session=unit, user=user, offset=self.offset, limit=PAGE_SIZE)
        if self.tab == SHARED and user is not None:
            return service.list_shared_strategies(
                session=unit, user=user, offset=self.offset, limit=PAGE_SIZE
            )
        self.tab = GALLERY
        query = GalleryQuery(
            text=self.query_text,
            tag=self.tag or None,
            author=self.author or None,
            sort=GallerySort(self.sort),
        )
        return service.search_gallery(session=unit, query=query, offset=self.offset, limit=PAGE_SIZE)
