"""The app's own API serves the rooms at /collab/{public_id}, with the workspace's roles and seed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pycrdt import Doc, Text, YMessageType, YSyncMessageType, create_sync_message, read_message
from sqlmodel import Session
from starlette.websockets import WebSocketDisconnect

from quanta import db
from quanta.accounts.models import User, UserCreate
from quanta.accounts.service import SESSION_COOKIE, sign_in, sign_up
from quanta.collab import POLICY_VIOLATION, SOURCE, set_current_hub
from quanta.ratelimit import MemoryRateLimiter
from quanta.settings import get_settings
from quanta.workspace.models import StrategyCreate
from quanta.workspace.service import create_strategy
from quanta_app.api import build_api
from tests.collab.conftest import PASSWORD

SOURCE_TEXT = "class Breakout(Strategy):\n    window = 20\n"


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("QUANTA_VAR_DIR", str(tmp_path))
    get_settings.cache_clear()
    db.migrate()
    with TestClient(build_api()) as test_client:
        yield test_client
    set_current_hub(None)
    db.dispose_engines()
    get_settings.cache_clear()


def _owner_with_strategy() -> tuple[str, str]:
    """A signed-in owner's session token and their private strategy's public id."""
    with Session(db.engine()) as unit:
        sign_up(session=unit, user_in=UserCreate(email="ada@example.com", password=PASSWORD))
        grant = sign_in(session=unit, email="ada@example.com", password=PASSWORD, limiter=MemoryRateLimiter())
        owner = unit.get(User, grant.user.id)
        assert owner is not None
        strategy_in = StrategyCreate(title="Breakout", source=SOURCE_TEXT)
        public_id = create_strategy(session=unit, owner=owner, strategy_in=strategy_in).public_id
        unit.commit()
    return grant.token, public_id


def test_a_stranger_is_refused(client: TestClient) -> None:
    _, public_id = _owner_with_strategy()

    with (
        client.websocket_connect(f"/collab/{public_id}") as socket,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        socket.receive_bytes()

    assert closed.value.code == POLICY_VIOLATION


def test_the_owner_gets_the_saved_source(client: TestClient) -> None:
    token, public_id = _owner_with_strategy()
    doc: Doc[Any] = Doc()

    client.cookies.set(SESSION_COOKIE, token)
    with client.websocket_connect(f"/collab/{public_id}") as socket:
        greeting = socket.receive_bytes()
        socket.send_bytes(create_sync_message(doc))
        answer = socket.receive_bytes()

    assert greeting[:2] == bytes([YMessageType.SYNC, YSyncMessageType.SYNC_STEP1])
    assert answer[:2] == bytes([YMessageType.SYNC, YSyncMessageType.SYNC_STEP2])
    doc.apply_update(read_message(answer[2:]))
    assert str(doc.get(SOURCE, type=Text)) == SOURCE_TEXT
