"""The password policy's messages, and Argon2id hashing with rehash on sign-in."""

from __future__ import annotations

import argon2
import pytest
from argon2 import PasswordHasher
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session

from quanta.accounts import passwords
from quanta.accounts.errors import PasswordPolicyError
from quanta.accounts.passwords import check_password, hash_password, password_problems, verify_password
from quanta.accounts.service import sign_in
from quanta.ratelimit import MemoryRateLimiter
from quanta.testing.clock import FakeClock
from tests.accounts.conftest import PASSWORD, make_user

TOO_SHORT = "Use at least 12 characters."
TOO_LONG = "Use at most 256 characters."
ONE_KIND = "Mix at least two kinds of characters: lower-case, upper-case, digits or symbols."
THE_EMAIL = "Don't use your email address as your password."
COMMON = "This password is too common. Choose something less predictable."


@pytest.mark.parametrize(
    ("password", "problems"),
    [
        ("Tr4ding-on-Mondays", []),
        ("short1A", [TOO_SHORT]),
        ("x", [TOO_SHORT, ONE_KIND]),
        ("Abc1-" * 52, [TOO_LONG]),
        ("onlylowercaseletters", [ONE_KIND]),
        ("123456789012345", [ONE_KIND]),
        ("Abababababab", ["Use at least 5 different characters."]),
        ("ada@example.com", [THE_EMAIL]),
        ("ADA@Example.com", [THE_EMAIL]),
        ("password1234", [COMMON]),
        ("P@ssw0rd2024!", [COMMON]),
        ("Trader-Trader-99", [COMMON]),
        ("correct horse battery staple", [COMMON]),
    ],
)
def test_the_policy_explains_every_rule_a_password_breaks(password: str, problems: list[str]) -> None:
    assert password_problems(password, email="ada@example.com") == problems


def test_check_password_raises_with_all_messages() -> None:
    with pytest.raises(PasswordPolicyError) as caught:
        check_password("qzx")

    assert caught.value.messages == (TOO_SHORT, ONE_KIND)
    assert str(caught.value) == f"{TOO_SHORT} {ONE_KIND}"


@given(st.text(min_size=12, max_size=256))
def test_the_policy_never_fails_on_any_text(password: str) -> None:
    assert all(isinstance(message, str) for message in password_problems(password, email="a@b.co"))


def test_hashes_are_argon2id_salted_and_verify() -> None:
    first, second = hash_password(PASSWORD), hash_password(PASSWORD)

    assert first.startswith("$argon2id$")
    assert first != second
    assert verify_password(first, PASSWORD)
    assert not verify_password(first, PASSWORD + "!")
    assert not verify_password("not a hash", PASSWORD)


def test_sign_in_rehashes_a_password_hashed_with_old_parameters(unit: Session, clock: FakeClock) -> None:
    user = make_user(unit, clock)
    user.password_hash = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1).hash(PASSWORD)
    unit.add(user)
    unit.commit()

    sign_in(session=unit, email=user.email, password=PASSWORD, limiter=MemoryRateLimiter(), now=clock.now())
    unit.commit()
    unit.refresh(user)

    parameters = argon2.extract_parameters(user.password_hash)
    assert (parameters.time_cost, parameters.memory_cost) == (
        passwords.HASHER.time_cost,
        passwords.HASHER.memory_cost,
    )
    assert verify_password(user.password_hash, PASSWORD)
