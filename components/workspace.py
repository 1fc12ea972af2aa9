"""/strategies/[public_id]: one strategy — header (stars, forks, lineage), source, versions and diffs,
settings and collaborators for its owner, and the embed snippet.

Write controls are shown only to those whose role allows them; the services decide anyway. People's text
(titles, descriptions, messages, sources) is rendered in text nodes, never as HTML.

The source is in the live collaborative editor (``editor_slot()``, with who else is there); "Save version"
saves the room's text; the run panel (``components.strategy_run``) backtests and optimises it for
everyone on the page to see.
"""

from __future__ import annotations

import reflex as rx

from components.chat import strategy_chat_panel
from components.editor import strategy_editor
from components.forms import error, section, submit, success
from components.gallery import forked_from, verified_figures
from components.paper import paper_panel
from components.strategy_run import on_value, run_panel
from state.strategy_run import StrategyRunShared, StrategyRunState, completion_words
from state.workspace import COLLABORATOR_ROLES, StrategyState
from state.workspace_views import CollaboratorRow, DiffRow, LineageRow, PeerView, VersionRow

MONO = "var(--code-font-family, ui-monospace, SFMono-Regular, Menlo, monospace)"
DIFF_COLOURS = {
    "add": rx.color("green", 3),
    "remove": rx.color("red", 3),
    "hunk": rx.color("blue", 3),
}
DIFF_SIGNS = {"add": "+", "remove": "−", "context": " ", "hunk": ""}
VISIBILITY_CHOICES = [
    ("private", "Private", "Only you and your collaborators."),
    ("unlisted", "Unlisted", "Anyone with the link; not in the gallery."),
    ("public", "Public", "Anyone; listed in the gallery."),
]


# ---- header --------------------------------------------------------------------------------------------


def _tag_links() -> rx.Component:
    return rx.hstack(
        rx.foreach(
            StrategyState.strategy.tags,
            lambda tag: rx.link(
                rx.badge(tag, variant="soft", radius="full"),
                href="/strategies?tag=" + tag,
                data_testid="strategy-tag",
            ),
        ),
        spacing="1",
        wrap="wrap",
    )


def _star_button() -> rx.Component:
    starred = StrategyState.strategy.starred
    return rx.button(
        rx.icon("star", size=16, fill=rx.cond(starred, "currentColor", "none")),
        rx.cond(starred, "Starred", "Star"),
        rx.badge(StrategyState.strategy.stars, variant="surface", data_testid="star-count"),
        variant=rx.cond(starred, "solid", "soft"),
        on_click=StrategyState.toggle_star,
        data_testid="star-button",
    )


def _fork_button() -> rx.Component:
    return rx.button(
        rx.icon("git-fork", size=16),
        "Fork",
        rx.badge(StrategyState.strategy.forks, variant="surface", data_testid="fork-count"),
        variant="soft",
        on_click=StrategyState.fork,
        disabled=StrategyState.latest_version == 0,
        data_testid="fork-button",
    )


def header() -> rx.Component:
    """Title, owner, visibility, tags, description, the viewer's role, star and fork buttons."""
    card = StrategyState.strategy
    return rx.vstack(
        rx.hstack(
            rx.icon("file-code-2", size=26),
            rx.heading(card.title, size="7", data_testid="strategy-title"),
            rx.badge(card.visibility, data_testid="visibility", color_scheme="gray"),
            rx.spacer(),
            _star_button(),
            _fork_button(),
            align="center",
            spacing="3",
            width="100%",
            wrap="wrap",
        ),
        rx.hstack(
            rx.text(
                "by ",
                rx.link(card.owner, href="/u/" + card.owner, data_testid="strategy-owner"),
                size="2",
                color_scheme="gray",
            ),
            rx.cond(
                StrategyState.role != "",
                rx.badge("you: " + StrategyState.role, variant="outline", data_testid="my-role"),
            ),
            rx.text("changed " + card.updated, size="1", color_scheme="gray"),
            spacing="3",
            align="center",
        ),
        _tag_links(),
        rx.cond(
            card.description != "",
            rx.text(card.description, size="2", white_space="pre-wrap", data_testid="strategy-description"),
        ),
        forked_from(card),
        spacing="2",
        width="100%",
    )


# ---- source, saving, running ---------------------------------------------------------------------------


def _peer_avatar(peer: rx.Var[PeerView]) -> rx.Component:
    return rx.tooltip(
        rx.hstack(
            rx.box(
                rx.text(peer.initials, size="1", weight="bold", color="white"),
                background_color=peer.color,
                border_radius="9999px",
                width="1.6em",
                height="1.6em",
                display="flex",
                align_items="center",
                justify_content="center",
            ),
            rx.text(peer.name, size="1", data_testid="peer-name"),
            spacing="1",
            align="center",
        ),
        content=peer.name + " is editing here",
    )


def presence() -> rx.Component:
    """Who else has this strategy open, and whether the editor is connected."""
    return rx.hstack(
        rx.badge(
            rx.cond(StrategyState.editor_status != "", StrategyState.editor_status, "connecting"),
            color_scheme=rx.match(
                StrategyState.editor_status, ("connected", "green"), ("refused", "red"), "gray"
            ),
            variant="soft",
            data_testid="editor-status",
        ),
        rx.cond(
            StrategyState.peers.length() > 0,  # type: ignore[attr-defined]
            rx.hstack(
                rx.text("Also here:", size="1", color_scheme="gray"),
                rx.foreach(StrategyState.peers, _peer_avatar),
                spacing="2",
                align="center",
                wrap="wrap",
                data_testid="peers",
            ),
            rx.text("Nobody else is here.", size="1", color_scheme="gray"),
        ),
        rx.spacer(),
        rx.cond(
            StrategyState.edited,
            rx.badge(
                "changed since v", StrategyState.latest_version, color_scheme="amber", data_testid="edited"
            ),
        ),
        rx.cond(~StrategyState.can_edit, rx.badge("read-only", color_scheme="gray", data_testid="read-only")),
        spacing="2",
        align="center",
        width="100%",
        wrap="wrap",
    )


def editor_slot() -> rx.Component:
    """The strategy's source in the live collaborative editor (CodeMirror + Yjs, room = the strategy's
    public id): owners and editors type together, viewers watch; errors of the last run are marked."""
    return rx.vstack(
        on_value(StrategyRunShared.version.to_string(), StrategyState.refresh),  # saved on another page
        presence(),
        rx.box(
            strategy_editor(
                StrategyState.strategy_id,
                read_only=~StrategyState.can_edit,
                user_name=StrategyState.editor_name,
                user_color=StrategyState.user_color,
                diagnostics=StrategyRunState.diagnostics,
                completions=completion_words(),
                height=460,
                on_change=[StrategyState.set_source, StrategyRunState.source_changed],
                on_peers=StrategyState.set_peers,
                on_status=StrategyState.set_editor_status,
            ),
            border=f"1px solid {rx.color('gray', 5)}",
            border_radius="var(--radius-3)",
            overflow="hidden",
            width="100%",
        ),
        spacing="2",
        width="100%",
    )


def run_panel_slot() -> rx.Component:
    """The run panel: backtest or optimise the editor's text in the sandbox, seen live by everyone here."""
    return run_panel()


def save_form() -> rx.Component:
    """Owners and editors save the editor's text (what everyone in the room sees) as a new version."""
    return rx.form(
        rx.hstack(
            rx.input(
                name="message",
                placeholder="What changed?",
                aria_label="Version message",
                max_length=500,
                flex_grow="1",
            ),
            submit("Save version"),
            width="100%",
            spacing="2",
        ),
        on_submit=lambda form: [StrategyState.save_version(form), StrategyRunShared.announce_version()],
        reset_on_submit=True,
        width="100%",
        data_testid="save-form",
    )


# ---- versions and diffs --------------------------------------------------------------------------------


def _version_row(row: rx.Var[VersionRow]) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text("v", row.number, weight="bold")),
        rx.table.cell(
            rx.vstack(
                rx.text(rx.cond(row.message != "", row.message, "(no message)"), size="2"),
                rx.cond(
                    row.restored_from != "",
                    rx.text("restored from v" + row.restored_from, size="1", color_scheme="gray"),
                ),
                spacing="0",
            )
        ),
        rx.table.cell(rx.text(row.author, size="2")),
        rx.table.cell(rx.text(row.created, size="1", color_scheme="gray")),
        rx.table.cell(
            rx.cond(
                row.is_latest,
                rx.badge("latest"),
                rx.cond(
                    StrategyState.can_edit,
                    rx.button(
                        "Restore",
                        size="1",
                        variant="soft",
                        on_click=[StrategyState.restore(row.number), StrategyRunShared.announce_version()],
                        aria_label="Restore version " + row.number.to_string(),
                    ),
                ),
            )
        ),
        data_testid="version-row",
    )


def _version_picker(label: str, value: rx.Var[str], on_change: rx.EventHandler) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(aria_label=label, placeholder=label),
        rx.select.content(
            rx.foreach(StrategyState.version_numbers, lambda n: rx.select.item("v" + n, value=n))
        ),
        value=value,
        on_change=on_change,
    )


def _diff_row(row: rx.Var[DiffRow]) -> rx.Component:
    cell = {"font_family": MONO, "font_size": "12px", "padding": "0 0.5em", "white_space": "pre"}
    number = {**cell, "color": rx.color("gray", 9), "text_align": "right", "user_select": "none"}
    return rx.el.tr(
        rx.el.td(row.old_line, style=number),
        rx.el.td(row.new_line, style=number),
        rx.el.td(rx.match(row.kind, *DIFF_SIGNS.items(), ""), style=number),
        rx.el.td(row.text, style=cell),
        background_color=rx.match(row.kind, *DIFF_COLOURS.items(), "transparent"),
        data_testid="diff-line",
        data_kind=row.kind,
    )


def versions_section() -> rx.Component:
    """Versions newest first, with restore for editors; two picked versions give a diff."""
    return section(
        "Versions",
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    *[rx.table.column_header_cell(n) for n in ("Version", "Message", "Author", "Saved", "")]
                )
            ),
            rx.table.body(rx.foreach(StrategyState.versions, _version_row)),
            size="1",
            width="100%",
        ),
        rx.cond(
            StrategyState.versions.length() > 1,  # type: ignore[attr-defined]
            rx.hstack(
                rx.text("Compare", size="2", weight="medium"),
                _version_picker("From version", StrategyState.diff_old, StrategyState.set_diff_old),
                rx.icon("arrow-right", size=14),
                _version_picker("To version", StrategyState.diff_new, StrategyState.set_diff_new),
                rx.button("Show diff", variant="soft", on_click=StrategyState.compare),
                align="center",
                spacing="2",
                wrap="wrap",
            ),
        ),
        rx.cond(
            StrategyState.diff_summary != "",
            rx.vstack(
                rx.text(StrategyState.diff_summary, size="2", data_testid="diff-summary"),
                rx.box(
                    rx.el.table(
                        rx.el.tbody(rx.foreach(StrategyState.diff, _diff_row)),
                        style={"border_collapse": "collapse", "width": "100%"},
                    ),
                    overflow_x="auto",
                    border=f"1px solid {rx.color('gray', 5)}",
                    border_radius="var(--radius-2)",
                    width="100%",
                    data_testid="diff",
                ),
                width="100%",
                spacing="2",
            ),
        ),
    )


# ---- lineage -------------------------------------------------------------------------------------------


def _lineage_row(row: rx.Var[LineageRow], testid: str) -> rx.Component:
    return rx.hstack(
        rx.icon("git-fork", size=14),
        rx.cond(
            row.visible,
            rx.link(row.owner + " / " + row.title, href="/strategies/" + row.id),
            rx.text("a private or deleted strategy", color_scheme="gray"),
        ),
        rx.cond(row.version != "", rx.text("at v" + row.version, size="1", color_scheme="gray")),
        spacing="2",
        align="center",
        data_testid=testid,
    )


def lineage_section() -> rx.Component:
    """Where the strategy comes from (parent first) and its forks that the viewer may see."""
    return section(
        "Lineage",
        rx.cond(
            StrategyState.ancestors.length() > 0,  # type: ignore[attr-defined]
            rx.vstack(
                rx.text("Comes from", size="2", weight="medium"),
                rx.foreach(StrategyState.ancestors, lambda row: _lineage_row(row, "ancestor-row")),
                spacing="1",
            ),
            rx.text("An original strategy (not a fork).", size="2", color_scheme="gray"),
        ),
        rx.cond(
            StrategyState.forks.length() > 0,  # type: ignore[attr-defined]
            rx.vstack(
                rx.text("Forks", size="2", weight="medium"),
                rx.foreach(StrategyState.forks, lambda row: _lineage_row(row, "fork-row")),
                spacing="1",
            ),
            rx.text("No forks you can see yet.", size="2", color_scheme="gray"),
        ),
    )


# ---- settings ------------------------------------------------------------------------------------------


def _details_form() -> rx.Component:
    card = StrategyState.strategy
    key = StrategyState.strategy_id + "-" + card.updated
    return rx.form(
        rx.vstack(
            rx.text("Title", size="2", weight="medium"),
            rx.input(
                name="title",
                default_value=card.title,
                key="title-" + key,
                aria_label="Title",
                max_length=100,
                width="100%",
            ),
            rx.text("Description", size="2", weight="medium"),
            rx.text_area(
                name="description",
                default_value=card.description,
                key="description-" + key,
                aria_label="Description",
                max_length=2000,
                width="100%",
            ),
            rx.text("Tags (separated by commas or spaces)", size="2", weight="medium"),
            rx.input(
                name="tags",
                default_value=card.tags.join(", "),  # type: ignore[attr-defined]
                key="tags-" + key,
                aria_label="Tags",
                width="100%",
            ),
            submit("Save details"),
            spacing="2",
            width="100%",
        ),
        on_submit=StrategyState.update_details,
        reset_on_submit=False,
        width="100%",
    )


def _visibility_picker() -> rx.Component:
    return rx.radio_group.root(
        rx.vstack(
            *[
                rx.text(
                    rx.hstack(
                        rx.radio_group.item(value=value),
                        rx.text(label, weight="medium"),
                        rx.text(hint, size="1", color_scheme="gray"),
                        spacing="2",
                        align="center",
                    ),
                    as_="label",
                    size="2",
                )
                for value, label, hint in VISIBILITY_CHOICES
            ],
            spacing="2",
        ),
        value=StrategyState.strategy.visibility,
        on_change=StrategyState.set_visibility,
        aria_label="Visibility",
    )


def _role_trigger(label: str | rx.Var[str]) -> rx.Component:
    return rx.select.trigger(aria_label=label)


def _role_items() -> rx.Component:
    return rx.select.content(*[rx.select.item(role, value=role) for role in COLLABORATOR_ROLES])


def _collaborator_row(row: rx.Var[CollaboratorRow]) -> rx.Component:
    role_cell = rx.cond(
        StrategyState.is_owner,
        rx.select.root(
            _role_trigger("Role of " + row.username),
            _role_items(),
            value=row.role,
            on_change=lambda role: StrategyState.change_role(row.username, role),
            size="1",
        ),
        rx.badge(row.role),
    )
    return rx.table.row(
        rx.table.cell(rx.link(row.display_name, href="/u/" + row.username)),
        rx.table.cell(role_cell),
        rx.table.cell(rx.text(row.added, size="1", color_scheme="gray")),
        rx.table.cell(
            rx.cond(
                StrategyState.is_owner,
                rx.button(
                    "Remove",
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    on_click=StrategyState.remove_collaborator(row.username),
                    aria_label="Remove " + row.username,
                ),
            )
        ),
        data_testid="collaborator-row",
    )


def _invite_form() -> rx.Component:
    return rx.form(
        rx.hstack(
            rx.input(
                name="username", placeholder="Username", aria_label="Username", required=True, flex_grow="1"
            ),
            rx.select.root(_role_trigger("Role"), _role_items(), name="role", default_value="viewer"),
            submit("Invite"),
            spacing="2",
            width="100%",
            align="center",
        ),
        on_submit=StrategyState.invite,
        reset_on_submit=True,
        width="100%",
    )


def collaborators_section() -> rx.Component:
    """Who else may read or edit; the owner invites, changes roles and removes; collaborators leave."""
    return section(
        "Collaborators",
        rx.cond(
            StrategyState.collaborators.length() > 0,  # type: ignore[attr-defined]
            rx.table.root(
                rx.table.header(
                    rx.table.row(*[rx.table.column_header_cell(n) for n in ("Person", "Role", "Added", "")])
                ),
                rx.table.body(rx.foreach(StrategyState.collaborators, _collaborator_row)),
                size="1",
                width="100%",
            ),
            rx.text("Not shared with anyone.", size="2", color_scheme="gray"),
        ),
        rx.cond(StrategyState.is_owner, _invite_form()),
        rx.cond(
            StrategyState.is_collaborator,
            rx.button(
                "Leave this strategy", variant="soft", color_scheme="red", on_click=StrategyState.leave
            ),
        ),
    )


def _delete_zone() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(
            rx.button(rx.icon("trash-2", size=16), "Delete strategy", color_scheme="red", variant="soft")
        ),
        rx.alert_dialog.content(
            rx.alert_dialog.title("Delete this strategy?"),
            rx.alert_dialog.description(
                "Its versions, stars and collaborators go with it; forks of it stay. This cannot be undone."
            ),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button("Delete", color_scheme="red", on_click=StrategyState.delete)
                ),
                justify="end",
                spacing="2",
                margin_top="1em",
            ),
        ),
        open=StrategyState.confirming_delete,
        on_open_change=StrategyState.ask_delete,
    )


def settings_section() -> rx.Component:
    """Title, description and tags (owner and editors); visibility and deletion (owner)."""
    return section(
        "Settings",
        _details_form(),
        rx.cond(
            StrategyState.is_owner,
            rx.vstack(
                rx.divider(),
                rx.text("Visibility", size="2", weight="medium"),
                _visibility_picker(),
                rx.divider(),
                _delete_zone(),
                spacing="3",
                width="100%",
            ),
        ),
    )


def embed_section() -> rx.Component:
    """The HTML that embeds this strategy's card elsewhere (public and unlisted strategies)."""
    return section(
        "Embed",
        rx.hstack(
            rx.code(
                StrategyState.embed_code,
                size="1",
                style={"word_break": "break-all"},
                data_testid="embed-snippet",
            ),
            rx.icon_button(
                rx.icon("copy", size=16),
                on_click=rx.set_clipboard(StrategyState.embed_code),
                variant="soft",
                aria_label="Copy the embed code",
            ),
            align="center",
            spacing="2",
            width="100%",
        ),
        rx.link("Preview", href="/embed/" + StrategyState.strategy_id, is_external=True),
        description="Paste this into a web page to show the strategy's latest verified backtest.",
    )


def verified_section() -> rx.Component:
    """The latest verified backtest of the strategy."""
    card = StrategyState.strategy
    return section(
        "Verified backtest",
        verified_figures(card),
        rx.cond(
            card.verified,
            rx.text(
                "As of " + card.verified_at,
                rx.cond(card.verified_version != "", " (version " + card.verified_version + ")", ""),
                size="1",
                color_scheme="gray",
            ),
        ),
    )


# ---- the page ------------------------------------------------------------------------------------------


def not_found() -> rx.Component:
    """What strangers see for a private strategy, and everyone for a wrong id."""
    return rx.vstack(
        rx.heading("Strategy not found", size="6", data_testid="strategy-not-found"),
        rx.text("There is no such strategy, or it is private.", color_scheme="gray"),
        rx.link("Browse the gallery", href="/strategies"),
        spacing="3",
    )


def strategy_page() -> rx.Component:
    """One strategy."""
    body = rx.vstack(
        header(),
        error(StrategyState.error, "strategy-error"),
        success(StrategyState.message, "strategy-message"),
        rx.grid(
            rx.vstack(
                rx.hstack(
                    rx.heading("Source", size="4", as_="h2"),
                    rx.cond(
                        StrategyState.latest_version > 0,
                        rx.badge("v", StrategyState.latest_version, data_testid="latest-version"),
                    ),
                    align="center",
                    spacing="2",
                ),
                editor_slot(),
                rx.cond(StrategyState.can_edit, save_form()),
                run_panel_slot(),
                spacing="3",
                width="100%",
                min_width="0",
            ),
            rx.vstack(
                verified_section(),
                versions_section(),
                lineage_section(),
                collaborators_section(),
                strategy_chat_panel(),
                paper_panel(),
                rx.cond(StrategyState.can_edit, settings_section()),
                rx.cond(StrategyState.embeddable, embed_section()),
                spacing="3",
                width="100%",
                min_width="0",
            ),
            columns=rx.breakpoints(initial="1", lg="2"),
            spacing="4",
            width="100%",
        ),
        spacing="4",
        width="100%",
    )
    return rx.cond(
        StrategyState.missing,
        not_found(),
        rx.cond(StrategyState.strategy_id != "", body, rx.spinner()),
    )
