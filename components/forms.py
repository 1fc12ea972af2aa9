"""Small building blocks of the account pages: labelled fields, callouts, section cards."""

from __future__ import annotations

from typing import Any

import reflex as rx


def field(label: str, name: str, *, kind: str = "text", hint: str = "", **props: Any) -> rx.Component:
    """A labelled input; the label is its accessible name too."""
    return rx.vstack(
        rx.text(label, size="2", weight="medium"),
        rx.input(name=name, type=kind, aria_label=label, width="100%", **props),
        *([rx.text(hint, size="1", color_scheme="gray")] if hint else []),
        spacing="1",
        width="100%",
    )


def text_area(label: str, name: str, **props: Any) -> rx.Component:
    """A labelled multi-line field."""
    return rx.vstack(
        rx.text(label, size="2", weight="medium"),
        rx.text_area(name=name, aria_label=label, width="100%", **props),
        spacing="1",
        width="100%",
    )


def error(message: rx.Var[str], testid: str = "form-error") -> rx.Component:
    """A red callout, shown when ``message`` is not empty."""
    return rx.cond(
        message != "",
        rx.callout(message, icon="triangle-alert", color_scheme="red", role="alert", data_testid=testid),
    )


def success(message: rx.Var[str], testid: str = "form-success") -> rx.Component:
    """A green callout, shown when ``message`` is not empty."""
    return rx.cond(
        message != "",
        rx.callout(message, icon="circle-check", color_scheme="green", role="status", data_testid=testid),
    )


def problems(items: rx.Var[list[str]], testid: str = "password-problems") -> rx.Component:
    """The rules a password breaks, one per line."""
    return rx.cond(
        items.length() > 0,  # type: ignore[attr-defined]
        rx.callout(
            rx.unordered_list(rx.foreach(items, rx.list_item)),
            icon="shield-alert",
            color_scheme="amber",
            role="alert",
            data_testid=testid,
        ),
    )


def secret_once(label: str, secret: rx.Var[str], on_dismiss: Any, testid: str) -> rx.Component:
    """A secret shown once, with a copy button and a warning that it will not be shown again."""
    return rx.callout.root(
        rx.callout.icon(rx.icon("key-round")),
        rx.vstack(
            rx.text(label, weight="bold"),
            rx.text("Copy it now: it is not stored and will not be shown again.", size="2"),
            rx.hstack(
                rx.code(secret, data_testid=testid, size="2", style={"word_break": "break-all"}),
                rx.icon_button(
                    rx.icon("copy", size=16),
                    on_click=rx.set_clipboard(secret),
                    variant="soft",
                    aria_label="Copy",
                ),
                align="center",
                spacing="2",
            ),
            rx.button("I have copied it", on_click=on_dismiss, variant="soft", size="1"),
            spacing="2",
        ),
        color_scheme="amber",
    )


def section(title: str, *children: rx.Component, description: str = "", **props: Any) -> rx.Component:
    """A titled card of the settings-like pages."""
    return rx.card(
        rx.vstack(
            rx.heading(title, size="4", as_="h2"),
            *([rx.text(description, size="2", color_scheme="gray")] if description else []),
            *children,
            spacing="3",
            width="100%",
        ),
        width="100%",
        **props,
    )


def narrow(*children: rx.Component) -> rx.Component:
    """A centred column for the sign-in-like pages."""
    return rx.center(
        rx.card(rx.vstack(*children, spacing="4", width="100%"), width="100%", max_width="28em", size="3"),
        padding_y="2em",
        width="100%",
    )


def submit(label: str, **props: Any) -> rx.Component:
    """The submit button of a form."""
    return rx.button(label, type="submit", **props)
