"""Passwords: the policy a new password must meet, and Argon2id hashing.

Hashes use argon2-cffi's defaults (RFC 9106's low-memory profile: Argon2id, 64 MiB, 3 passes, 4 lanes).
When those defaults change, ``needs_rehash`` is true for older hashes and sign-in rehashes them.
``HASHER`` is module state so tests can swap in a cheap profile.
"""

from __future__ import annotations

import string
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from quanta.accounts._support import words
from quanta.accounts.errors import PasswordPolicyError

MIN_LENGTH = 12
MAX_LENGTH = 256
MIN_DISTINCT = 5

HASHER = PasswordHasher()

# Common choices that pass the length rule, and common words that people pad with digits and symbols
# ("Password1234!"). Small on purpose: the length and variety rules do most of the work.
COMMON_PASSWORDS = words(
    """
    123456789012 1234567890123 12345678901234 123456789abc 1q2w3e4r5t6y 1qaz2wsx3edc 1qazxsw23edc
    qwertyuiop12 qwertyuiop123 qwerty123456 qwertyuiopasdf qwertyuiopasdfgh asdfghjkl123 zxcvbnm12345
    abcdefghijkl abcdefghijklmnop abcd1234abcd abc123abc123 aaaaaaaaaaaa 111111111111 000000000000
    password1234 password12345 password123456 passwordpassword password1234567 p@ssw0rd1234 passw0rd1234
    iloveyou1234 iloveyouiloveyou welcome12345 welcome123456 letmein12345 letmeinletmein
    changeme1234 changemechangeme administrator admin1234567 adminadmin123 rootroot1234 trustno1trustno1
    monkey123456 dragon123456 football1234 baseball1234 sunshine1234 princess1234 superman1234
    starwars1234 pokemon12345 computer1234 internet1234 mustang12345 michael12345 jennifer1234
    correcthorsebatterystaple
    """
)
COMMON_WORDS = words(
    """
    password qwerty qwertyuiop asdfgh zxcvbn letmein welcome iloveyou admin
    administrator root login master changeme secret monkey dragon football baseball soccer hockey sunshine
    princess superman batman starwars pokemon computer internet mustang shadow michael jennifer jordan
    freedom whatever trustno abc abcdef quanta trading trader bitcoin crypto correcthorsebatterystaple
    """
)
_LEET = str.maketrans("0@431!$57", "oaaeiisst")
_PADDING = string.digits + string.punctuation + string.whitespace


def password_problems(password: str, *, email: str | None = None) -> list[str]:
    """Every rule ``password`` breaks, as advice to show under the field (empty when it is fine)."""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Use at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        problems.append(f"Use at most {MAX_LENGTH} characters.")
    if password and _character_classes(password) == 1:
        problems.append("Mix at least two kinds of characters: lower-case, upper-case, digits or symbols.")
    elif password and len(set(password)) < MIN_DISTINCT:
        problems.append(f"Use at least {MIN_DISTINCT} different characters.")
    if email and _is_email(password, email):
        problems.append("Don't use your email address as your password.")
    elif _is_common(password):
        problems.append("This password is too common. Choose something less predictable.")
    return problems


def check_password(password: str, *, email: str | None = None) -> None:
    """Raise ``PasswordPolicyError`` listing every rule ``password`` breaks."""
    problems = password_problems(password, email=email)
    if problems:
        raise PasswordPolicyError(problems)


def hash_password(password: str) -> str:
    """The Argon2id hash to store."""
    return HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash`` (False for a malformed hash too)."""
    try:
        return HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether ``stored_hash`` was made with other parameters than ``HASHER``'s."""
    try:
        return HASHER.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


def burn_verification(password: str) -> None:
    """Spend the time of one verification, so unknown accounts answer as slowly as known ones."""
    verify_password(_dummy_hash(HASHER), password)


@lru_cache(maxsize=4)
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash("not a real password: equalises sign-in timing")


def _character_classes(password: str) -> int:
    kinds = (str.islower, str.isupper, str.isdigit)
    found = {index for c in password for index, kind in enumerate(kinds) if kind(c)}
    if any(not (c.islower() or c.isupper() or c.isdigit()) for c in password):
        found.add(len(kinds))
    return len(found)


def _is_email(password: str, email: str) -> bool:
    folded, address = password.casefold(), email.strip().casefold()
    return folded in {address, address.partition("@")[0]}


def _is_common(password: str) -> bool:
    folded = password.casefold()
    if folded in COMMON_PASSWORDS:
        return True
    core = folded.strip(_PADDING).translate(_LEET)
    letters = "".join(c for c in core if c.isalpha())
    return bool(letters) and any(
        letters == word * (len(letters) // len(word)) for word in COMMON_WORDS if len(letters) >= len(word)
    )
