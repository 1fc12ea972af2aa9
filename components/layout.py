"""The app shell: top navigation, theme switch and a responsive content area."""

from __future__ import annotations

import reflex as rx

from components.auth import user_menu

NAV_LINKS = [
    ("Markets", "/markets", "candlestick-chart"),
    ("Live", "/live", "radio"),
    ("Strategies", "/strategies", "file-code-2"),
    ("Competitions", "/competitions", "trophy"),
    ("Results", "/results", "line-chart"),
    ("Chat", "/chat", "messages-square"),
]


def _logo() -> rx.Component:
    return rx.link(
        rx.hstack(
            rx.icon("activity", size=22, color=rx.color("accent", 9)),
            rx.heading("Quanta", size="5", weight="bold"),
            align="center",
            spacing="2",
        ),
        href="/",
        underline="none",
        color_scheme="gray",
        high_contrast=True,
    )


def _nav_link(label: str, href: str, icon: str) -> rx.Component:
    return rx.link(
        rx.hstack(rx.icon(icon, size=16), rx.text(label, size="3"), align="center", spacing="1"),
        href=href,
        underline="none",
        color_scheme="gray",
        high_contrast=True,
    )


def navbar() -> rx.Component:
    """Logo, navigation and the light/dark switch; the links fold into a menu on small screens."""
    links = [_nav_link(*link) for link in NAV_LINKS]
    return rx.box(
        rx.hstack(
            _logo(),
            rx.desktop_only(rx.hstack(*links, spacing="5", align="center")),
            rx.spacer(),
            rx.mobile_and_tablet(
                rx.menu.root(
                    rx.menu.trigger(rx.icon_button(rx.icon("menu"), variant="ghost", aria_label="Menu")),
                    rx.menu.content(
                        *[rx.menu.item(rx.link(label, href=href)) for label, href, _ in NAV_LINKS]
                    ),
                )
            ),
            rx.color_mode.button(aria_label="Switch light/dark theme"),
            user_menu(),
            align="center",
            spacing="5",
            width="100%",
        ),
        padding_x=["1em", "1.5em", "2em"],
        padding_y="0.75em",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
        position="sticky",
        top="0",
        z_index="10",
        background_color=rx.color("gray", 1),
        width="100%",
    )


def shell(*children: rx.Component) -> rx.Component:
    """A page inside the app shell; ``data-hydrated`` turns "true" once the page's state is live (its
    websocket connected and the state loaded), the moment from which input reaches the server."""
    return rx.box(
        navbar(),
        rx.box(*children, padding=["0.75em", "1em", "1.5em"], max_width="1400px", margin_x="auto"),
        min_height="100vh",
        background_color=rx.color("gray", 1),
        custom_attrs={"data-hydrated": rx.State.is_hydrated.to_string()},
    )
