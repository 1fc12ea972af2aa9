"""State of /u/[username]: a trader's public profile (never their email address)."""

from __future__ import annotations

import reflex as rx

from quanta import db
from quanta.accounts import NotFound, service
from quanta.competitions.service import badges_of_username
from state.views import last_segment, when

MEDALS = {"gold": "🥇", "silver": "🥈", "bronze": "🥉"}


def competition_badges(username: str) -> list[dict[str, str]]:
    """Podium places in finished competitions, as the profile shows them."""
    with db.session() as unit:
        badges = badges_of_username(session=unit, username=username)
    return [
        {"medal": MEDALS[b.medal], "title": b.title, "href": f"/competitions/{b.competition}"} for b in badges
    ]


class PublicProfileState(rx.State):
    """What anyone may see of the profile named in the URL."""

    profile: dict[str, str] = {}
    links: list[str] = []
    badges: list[dict[str, str]] = []
    error: str = ""

    @rx.event
    def load(self) -> None:
        """Look the username of the URL up."""
        name = last_segment(self.router.url.path)
        self.profile, self.links, self.error = {}, [], ""
        try:
            with db.session() as unit:
                found = service.public_profile(session=unit, username=name)
        except NotFound as exc:
            self.error = str(exc)
            return
        self.profile = {
            "username": found.username,
            "display_name": found.display_name or found.username,
            "bio": found.bio,
            "avatar_url": found.avatar_url or "",
            "member_since": when(found.member_since).split(" ")[0],
        }
        self.links = list(found.links)
        self.badges = competition_badges(found.username)
