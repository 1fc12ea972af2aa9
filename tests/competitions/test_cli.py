"""``quanta admin grant|revoke`` on the configured app database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import Session, col, select

from quanta import db
from quanta.accounts.models import User
from quanta.cli import main
from quanta.settings import Settings, get_settings
from quanta.testing.clock import FakeClock
from tests.accounts.conftest import make_user


@pytest.fixture
def var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("QUANTA_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("QUANTA_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()
    db.dispose_engines()


def is_admin(settings: Settings, email: str) -> bool:
    with Session(db.engine(settings)) as unit:
        return unit.exec(select(User.is_admin).where(col(User.email) == email)).one()


def test_grant_and_revoke_change_whether_an_account_is_a_site_admin(var_dir: Path) -> None:
    settings = Settings(var_dir=var_dir)
    db.migrate(settings)
    with Session(db.engine(settings)) as unit:
        make_user(unit, FakeClock(), "ada@example.com")
    runner = CliRunner()

    granted = runner.invoke(main, ["admin", "grant", "Ada@example.com"], catch_exceptions=False)
    assert granted.exit_code == 0, granted.output
    assert is_admin(settings, "ada@example.com")

    revoked = runner.invoke(main, ["admin", "revoke", "ada@example.com"], catch_exceptions=False)
    assert revoked.exit_code == 0
    assert not is_admin(settings, "ada@example.com")


def test_granting_an_unknown_email_fails_with_a_message(var_dir: Path) -> None:
    result = CliRunner().invoke(main, ["admin", "grant", "nobody@example.com"], catch_exceptions=False)
    assert result.exit_code == 1
    assert "No account has the email" in result.output
