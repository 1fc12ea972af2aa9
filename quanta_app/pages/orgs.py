"""/orgs: your organisations; /orgs/[slug]: one organisation's members, invitations and API clients."""

import reflex as rx

from components.layout import shell
from components.orgs import org_detail, orgs_list
from state.orgs import OrgsState, OrgState


@rx.page(route="/orgs", title="Organisations · Quanta", on_load=OrgsState.load)
def orgs() -> rx.Component:
    """The list and the create form."""
    return shell(orgs_list())


@rx.page(route="/orgs/[slug]", title="Organisation · Quanta", on_load=OrgState.load)
def org() -> rx.Component:
    """One organisation."""
    return shell(org_detail())
