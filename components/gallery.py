"""/strategies: the gallery of public strategies, your own and those shared with you, and the new-strategy
dialog. Titles, descriptions and tags are people's text: they are rendered as text nodes only."""

from __future__ import annotations

import reflex as rx

from components.forms import error, submit
from state.gallery import GALLERY, MINE, SHARED, SORT_LABELS, TEMPLATES, GalleryState
from state.workspace_views import StrategyCard

CLAMP = {
    "display": "-webkit-box",
    "-webkit-line-clamp": "3",
    "-webkit-box-orient": "vertical",
    "overflow": "hidden",
}
"""Show at most three lines of a description on a card."""


def _count(icon: str, value: rx.Var[int], label: str, testid: str) -> rx.Component:
    return rx.hstack(
        rx.icon(icon, size=14),
        rx.text(value, size="2", data_testid=testid),
        spacing="1",
        align="center",
        title=label,
    )


def _figure(label: str, value: rx.Var[str]) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color_scheme="gray"),
        rx.text(value, size="2", weight="medium"),
        spacing="0",
    )


def verified_figures(card: rx.Var[StrategyCard]) -> rx.Component:
    """Return, Sharpe ratio and maximum drawdown of the latest verified backtest, or a note that there is
    none (also used by the strategy page)."""
    return rx.cond(
        card.verified,
        rx.hstack(
            rx.icon("badge-check", size=16, color=rx.color("green", 10)),
            _figure("Return", card.return_pct),
            _figure("Sharpe", card.sharpe),
            _figure("Max drawdown", card.max_drawdown_pct),
            spacing="4",
            align="center",
            data_testid="verified-figures",
        ),
        rx.text("No verified backtest yet", size="1", color_scheme="gray"),
    )


def tag_badges(tags: rx.Var[list[str]], *, clickable: bool) -> rx.Component:
    """The tags of a strategy; in the gallery a click filters by the tag."""

    def badge(tag: rx.Var[str]) -> rx.Component:
        if clickable:
            return rx.badge(
                tag,
                variant="soft",
                radius="full",
                cursor="pointer",
                on_click=GalleryState.filter_tag(tag),
                data_testid="strategy-tag",
            )
        return rx.badge(tag, variant="soft", radius="full", data_testid="strategy-tag")

    return rx.hstack(rx.foreach(tags, badge), spacing="1", wrap="wrap")


def forked_from(card: rx.Var[StrategyCard]) -> rx.Component:
    """'Forked from owner / title (v3)', or a note when the original cannot be shown."""
    return rx.cond(
        card.is_fork,
        rx.hstack(
            rx.icon("git-fork", size=14),
            rx.cond(
                card.forked_from_id != "",
                rx.text(
                    "Forked from ",
                    rx.link(
                        card.forked_from_owner + " / " + card.forked_from_title,
                        href="/strategies/" + card.forked_from_id,
                    ),
                    rx.cond(card.forked_from_version != "", " (v" + card.forked_from_version + ")", ""),
                    size="1",
                ),
                rx.text("Forked from a strategy that is private or deleted", size="1"),
            ),
            spacing="1",
            align="center",
            color=rx.color("gray", 11),
            data_testid="forked-from",
        ),
    )


def _card(card: rx.Var[StrategyCard]) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.link(
                    rx.heading(card.title, size="4", trim="both"),
                    href="/strategies/" + card.id,
                    underline="hover",
                    data_testid="strategy-card-title",
                ),
                rx.spacer(),
                rx.cond(card.visibility != "public", rx.badge(card.visibility, color_scheme="gray")),
                width="100%",
                align="start",
            ),
            rx.text("by ", rx.link(card.owner, href="/u/" + card.owner), size="2", color_scheme="gray"),
            rx.text(card.description, size="2", trim="both", style=CLAMP),
            tag_badges(card.tags, clickable=True),
            forked_from(card),
            rx.spacer(),
            verified_figures(card),
            rx.hstack(
                _count("star", card.stars, "Stars", "card-stars"),
                _count("git-fork", card.forks, "Forks", "card-forks"),
                rx.spacer(),
                rx.text(card.updated, size="1", color_scheme="gray"),
                width="100%",
                align="center",
            ),
            spacing="2",
            height="100%",
        ),
        data_testid="strategy-card",
    )


def _search_form() -> rx.Component:
    def box(label: str, name: str, value: rx.Var[str], placeholder: str) -> rx.Component:
        return rx.input(
            name=name,
            default_value=value,
            key=name + ":" + value,
            placeholder=placeholder,
            aria_label=label,
            flex_grow="1",
        )

    return rx.form(
        rx.hstack(
            box("Search", "q", GalleryState.query_text, "Words in the title or description"),
            box("Tag", "tag", GalleryState.tag, "Tag"),
            box("Author", "author", GalleryState.author, "Author's username"),
            submit("Search"),
            spacing="2",
            width="100%",
            wrap="wrap",
        ),
        on_submit=GalleryState.search,
        width="100%",
    )


def _sort_select() -> rx.Component:
    return rx.select.root(
        rx.select.trigger(aria_label="Sort by"),
        rx.select.content(*[rx.select.item(label, value=value) for value, label in SORT_LABELS.items()]),
        value=GalleryState.sort,
        on_change=GalleryState.set_sort,
    )


def _new_strategy_dialog() -> rx.Component:
    form = rx.form(
        rx.vstack(
            rx.text("Title", size="2", weight="medium"),
            rx.input(name="title", aria_label="Title", required=True, max_length=100, width="100%"),
            rx.text("Starting template", size="2", weight="medium"),
            rx.select.root(
                rx.select.trigger(aria_label="Starting template", width="100%"),
                rx.select.content(*[rx.select.item(t["title"], value=t["name"]) for t in TEMPLATES]),
                name="template",
                default_value=TEMPLATES[0]["name"] if TEMPLATES else "",
            ),
            rx.text(
                "Version 1 is the example's source; the strategy starts private.",
                size="1",
                color_scheme="gray",
            ),
            error(GalleryState.create_error, "create-error"),
            rx.hstack(
                rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray", type="button")),
                submit("Create strategy"),
                justify="end",
                width="100%",
            ),
            spacing="2",
            width="100%",
        ),
        on_submit=GalleryState.create,
        width="100%",
    )
    return rx.dialog.root(
        rx.dialog.trigger(rx.button(rx.icon("plus", size=16), "New strategy")),
        rx.dialog.content(rx.dialog.title("New strategy"), form, max_width="30em"),
        open=GalleryState.creating,
        on_open_change=GalleryState.open_create,
    )


def _tabs() -> rx.Component:
    return rx.tabs.root(
        rx.tabs.list(
            rx.tabs.trigger("Gallery", value=GALLERY),
            rx.tabs.trigger("Mine", value=MINE),
            rx.tabs.trigger("Shared with me", value=SHARED),
        ),
        value=GalleryState.tab,
        on_change=GalleryState.set_tab,
    )


def _pager() -> rx.Component:
    return rx.hstack(
        rx.button(
            "Previous",
            variant="soft",
            disabled=~GalleryState.has_previous,
            on_click=GalleryState.previous_page,
        ),
        rx.button("Next", variant="soft", disabled=~GalleryState.has_next, on_click=GalleryState.next_page),
        justify="end",
        width="100%",
    )


def _empty() -> rx.Component:
    return rx.text(
        rx.match(
            GalleryState.tab,
            (MINE, "You have no strategies yet: create one from a template."),
            (SHARED, "Nobody has shared a strategy with you yet."),
            "No public strategy matches this search.",
        ),
        color_scheme="gray",
        data_testid="gallery-empty",
    )


def gallery() -> rx.Component:
    """Search, sort and page through strategies; signed-in people also see theirs and create new ones."""
    return rx.vstack(
        rx.hstack(
            rx.heading("Strategies", size="7"),
            rx.spacer(),
            rx.cond(
                GalleryState.signed_in,
                _new_strategy_dialog(),
                rx.link("Sign in to create strategies", href="/signin?next=%2Fstrategies"),
            ),
            width="100%",
            align="center",
        ),
        rx.cond(GalleryState.signed_in, _tabs()),
        rx.cond(
            GalleryState.tab == GALLERY,
            rx.hstack(rx.box(_search_form(), flex_grow="1"), _sort_select(), width="100%", align="center"),
        ),
        error(GalleryState.error, "gallery-error"),
        rx.cond(
            GalleryState.loaded,
            rx.cond(
                GalleryState.cards.length() > 0,  # type: ignore[attr-defined]
                rx.grid(
                    rx.foreach(GalleryState.cards, _card),
                    columns=rx.breakpoints(initial="1", sm="2", lg="3"),
                    spacing="3",
                    width="100%",
                ),
                _empty(),
            ),
            rx.spinner(),
        ),
        rx.cond(GalleryState.has_previous | GalleryState.has_next, _pager()),
        spacing="4",
        width="100%",
    )
