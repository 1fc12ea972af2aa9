"""/security: the audit log of your account and of the organisations you manage."""

from __future__ import annotations

import reflex as rx

from components.forms import section
from state.security import SecurityState


def _event_row(event: rx.Var[dict[str, str]], *, with_org: bool = False) -> rx.Component:
    cells = [rx.table.cell(rx.text(event["when"], size="1", white_space="nowrap"))]
    if with_org:
        cells.append(rx.table.cell(event["org"]))
    cells += [
        rx.table.cell(rx.text(event["what"], weight="medium"), title=event["kind"]),
        rx.table.cell(rx.text(event["detail"], size="1", color_scheme="gray")),
        rx.table.cell(rx.text(event["ip"], size="1")),
    ]
    return rx.table.row(*cells, data_testid="audit-row")


def _table(rows: rx.Var[list[dict[str, str]]], *, with_org: bool = False) -> rx.Component:
    headers = ["When", *(["Organisation"] if with_org else []), "What", "Detail", "IP"]
    return rx.table.root(
        rx.table.header(rx.table.row(*[rx.table.column_header_cell(name) for name in headers])),
        rx.table.body(rx.foreach(rows, lambda event: _event_row(event, with_org=with_org))),
        width="100%",
        size="1",
    )


def security_log() -> rx.Component:
    """Your events, then your organisations' (for owners and admins)."""
    return rx.vstack(
        rx.heading("Security log", size="7"),
        section(
            "Your account",
            _table(SecurityState.events),
            description="Sign-ins, failed attempts, password and email changes, tokens: newest first.",
            data_testid="user-audit",
        ),
        rx.cond(
            SecurityState.managed_orgs > 0,
            section(
                "Organisations you manage",
                _table(SecurityState.org_events, with_org=True),
                data_testid="org-audit",
            ),
        ),
        spacing="4",
        width="100%",
        max_width="70em",
    )
