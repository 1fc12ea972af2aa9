"""/u/[username]: a trader's public profile."""

from __future__ import annotations

import reflex as rx

from state.profile import PublicProfileState


def _badge(badge: rx.Var[dict[str, str]]) -> rx.Component:
    """A podium place in a finished competition."""
    return rx.link(
        rx.badge(badge["medal"], " ", badge["title"], size="2"),
        href=badge["href"],
        data_testid="profile-badge",
    )


def public_profile() -> rx.Component:
    """Avatar, name, bio and links; never the email address."""
    profile = PublicProfileState.profile
    card = rx.card(
        rx.hstack(
            rx.avatar(src=profile["avatar_url"], fallback=profile["display_name"].to(str)[:2], size="7"),
            rx.vstack(
                rx.heading(profile["display_name"], size="7", data_testid="profile-name"),
                rx.text("@" + profile["username"], color_scheme="gray"),
                rx.text(profile["bio"], white_space="pre-wrap", data_testid="profile-bio"),
                rx.vstack(
                    rx.foreach(
                        PublicProfileState.links, lambda url: rx.link(url, href=url, is_external=True)
                    ),
                    spacing="1",
                ),
                rx.text("Member since " + profile["member_since"], size="1", color_scheme="gray"),
                rx.hstack(rx.foreach(PublicProfileState.badges, _badge), wrap="wrap", spacing="2"),
                spacing="2",
            ),
            spacing="5",
            align="start",
        ),
        size="3",
        max_width="44em",
    )
    missing = rx.callout(PublicProfileState.error, icon="user-x", data_testid="profile-missing")
    return rx.cond(
        PublicProfileState.error != "", missing, rx.cond(profile.contains("username"), card, rx.spinner())
    )  # type: ignore[attr-defined]
