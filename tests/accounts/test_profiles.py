"""Profiles: owners edit them; everyone sees the public view, which has no private fields."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from quanta.accounts.errors import Conflict, InvalidInput, NotFound
from quanta.accounts.models import ProfilePublic, ProfileUpdate
from quanta.accounts.service import get_profile, public_profile, update_profile
from quanta.testing.clock import FakeClock
from tests.accounts.conftest import make_user


def test_an_owner_updates_their_profile_and_anyone_sees_the_public_view(
    unit: Session, clock: FakeClock
) -> None:
    user = make_user(unit, clock)
    update_profile(
        session=unit,
        user=user,
        profile_in=ProfileUpdate(
            username="Ada-L",
            display_name="  Ada Lovelace ",
            bio="Mean reversion, mostly.",
            avatar_url="https://example.org/ada.png",
            links=["https://github.com/ada", "https://ada.example.org", "https://github.com/ada"],
        ),
        now=clock.now(),
    )
    unit.commit()

    public = public_profile(session=unit, username="ada-l")

    assert public == ProfilePublic(
        username="ada-l",
        display_name="Ada Lovelace",
        bio="Mean reversion, mostly.",
        avatar_url="https://example.org/ada.png",
        links=["https://github.com/ada", "https://ada.example.org"],
        member_since=user.created_at,
    )
    assert set(ProfilePublic.model_fields) == {
        "username", "display_name", "bio", "avatar_url", "links", "member_since"
    }  # fmt: skip
    assert "ada@example.com" not in public.model_dump_json()


def test_unset_fields_are_left_alone(unit: Session, clock: FakeClock) -> None:
    user = make_user(unit, clock, username="ada")
    update_profile(session=unit, user=user, profile_in=ProfileUpdate(bio="First."))

    update_profile(session=unit, user=user, profile_in=ProfileUpdate(display_name="Ada"))

    profile = get_profile(session=unit, user=user)
    assert (profile.username, profile.bio, profile.display_name) == ("ada", "First.", "Ada")


def test_usernames_are_unique_slugs(unit: Session, clock: FakeClock) -> None:
    make_user(unit, clock, username="ada")
    bob = make_user(unit, clock, "bob@example.com")

    with pytest.raises(Conflict, match="taken"):
        update_profile(session=unit, user=bob, profile_in=ProfileUpdate(username="ADA"))
    for bad in ("a", "-ada", "ada-", "ada_l", "ada l", "admin"):
        with pytest.raises(InvalidInput) as caught:
            update_profile(session=unit, user=bob, profile_in=ProfileUpdate(username=bad))
        assert caught.value.field == "username"


@pytest.mark.parametrize(
    "links",
    [
        ["javascript:alert(1)"],
        ["ftp://example.org"],
        ["example.org"],
        [f"https://e.org/{n}" for n in range(6)],
    ],
)
def test_links_must_be_a_few_web_addresses(unit: Session, clock: FakeClock, links: list[str]) -> None:
    user = make_user(unit, clock)

    with pytest.raises(InvalidInput) as caught:
        update_profile(session=unit, user=user, profile_in=ProfileUpdate(links=links))

    assert caught.value.field == "links"


def test_the_avatar_must_be_a_web_address(unit: Session, clock: FakeClock) -> None:
    user = make_user(unit, clock)

    with pytest.raises(InvalidInput):
        update_profile(
            session=unit, user=user, profile_in=ProfileUpdate(avatar_url="data:image/png;base64,AAAA")
        )


def test_disabled_and_unknown_users_have_no_public_profile(unit: Session, clock: FakeClock) -> None:
    user = make_user(unit, clock, username="ada")
    user.disabled = True
    unit.add(user)
    unit.commit()

    with pytest.raises(NotFound):
        public_profile(session=unit, username="ada")
    with pytest.raises(NotFound):
        public_profile(session=unit, username="nobody")
