"""Settings: embedded defaults, scale-out switches, and no working secrets outside development."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from pydantic import ValidationError

from quanta.settings import DEVELOPMENT_SECRET, Settings


def test_embedded_default_keeps_app_and_market_data_under_var(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)

    assert settings.app_database_url == f"sqlite:///{tmp_path / 'quanta.db'}"
    assert settings.market_duckdb_path == tmp_path / "market.duckdb"
    assert settings.redis_url is None
    assert settings.kafka_bootstrap is None


def test_database_url_switches_the_app_database_to_postgres() -> None:
    url = "postgresql+psycopg://quanta@127.0.0.1:5432/quanta"
    assert Settings(database_url=url).app_database_url == url


def test_settings_read_quanta_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUANTA_REDIS_URL", "redis://127.0.0.1:6390/0")
    monkeypatch.setenv("QUANTA_KAFKA_BOOTSTRAP", "127.0.0.1:9092")

    settings = Settings()

    assert settings.redis_url == "redis://127.0.0.1:6390/0"
    assert settings.kafka_bootstrap == "127.0.0.1:9092"


@pytest.mark.parametrize("env", ["production", "test"])
@pytest.mark.parametrize("secret", ["", "changeme", DEVELOPMENT_SECRET, "short-but-not-a-placeholder"])
def test_placeholder_or_weak_secrets_are_refused_outside_development(env: str, secret: str) -> None:
    with pytest.raises(ValidationError, match="QUANTA_SECRET_KEY"):
        Settings(env=env, secret_key=secret)  # type: ignore[arg-type]


def test_a_random_secret_is_accepted_in_production() -> None:
    settings = Settings(env="production", secret_key=secrets.token_urlsafe(48))  # type: ignore[arg-type]
    assert settings.env == "production"


def test_unknown_settings_are_rejected() -> None:
    with pytest.raises(ValidationError, match="databse_url"):
        Settings(databse_url="sqlite://")  # type: ignore[call-arg]
