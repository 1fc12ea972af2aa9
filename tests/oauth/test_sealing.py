"""Sealed values (consent requests, sign-in cookies, signing keys) open only for their purpose and time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quanta.oauth._crypto import mac, mac_matches, seal, unseal
from quanta.oauth.errors import SealError
from quanta.settings import Settings

SETTINGS = Settings(secret_key="sealing-tests-secret-key-0123456789-abcdef")
NOW = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
payloads = st.dictionaries(
    st.text(max_size=10), st.none() | st.booleans() | st.integers() | st.text(max_size=20)
)


@given(payloads)
def test_a_sealed_payload_opens_to_itself(payload: dict[str, Any]) -> None:
    payload.pop("_exp", None)
    sealed = seal(payload, settings=SETTINGS, purpose="a", expires_at=NOW + timedelta(minutes=1))

    assert unseal(sealed, settings=SETTINGS, purpose="a", now=NOW) == payload


def test_a_sealed_value_does_not_open_for_another_purpose_key_or_time() -> None:
    sealed = seal({"x": 1}, settings=SETTINGS, purpose="a", expires_at=NOW + timedelta(minutes=1))
    other_key = Settings(secret_key="another-secret-key-for-the-sealing-tests-0123")

    for purpose, settings, now in (
        ("b", SETTINGS, NOW),
        ("a", other_key, NOW),
        ("a", SETTINGS, NOW + timedelta(minutes=1)),
    ):
        with pytest.raises(SealError):
            unseal(sealed, settings=settings, purpose=purpose, now=now)


@pytest.mark.parametrize("forged", ["", "AAAA", "not base64 !", "x" * 10_000])
def test_forged_values_do_not_open(forged: str) -> None:
    with pytest.raises(SealError):
        unseal(forged, settings=SETTINGS, purpose="a", now=NOW)


@given(st.text(max_size=60))
def test_a_mac_matches_only_itself(given_token: str) -> None:
    token = mac("subject", settings=SETTINGS, purpose="csrf")

    assert mac_matches("subject", token, settings=SETTINGS, purpose="csrf")
    assert mac_matches("subject", given_token, settings=SETTINGS, purpose="csrf") == (given_token == token)
