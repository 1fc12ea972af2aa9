"""One settings object for the whole platform, read from ``QUANTA_*`` environment variables.

With nothing configured Quanta runs embedded: SQLite for app data and a DuckDB file for market data,
both under ``var/``. Setting ``QUANTA_DATABASE_URL``, ``QUANTA_REDIS_URL`` or ``QUANTA_KAFKA_BOOTSTRAP``
switches that part to a real server; the code paths stay the same.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["development", "test", "production"]

DEVELOPMENT_SECRET = "development-only-secret-do-not-deploy"  # noqa: S105 - refused outside development
_PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "please-change", DEVELOPMENT_SECRET}
_MIN_SECRET_LENGTH = 32


class SettingsError(ValueError):
    """The settings are inconsistent or unsafe for the chosen environment."""


class Settings(BaseSettings):
    """Platform configuration. Every field maps to ``QUANTA_<FIELD>``; unknown fields are rejected."""

    model_config = SettingsConfigDict(env_prefix="QUANTA_", extra="forbid", frozen=True)

    env: Environment = "development"
    var_dir: Path = Field(default=Path("var"), description="Folder for embedded databases and uploads.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; SQLite under var/ if unset.")
    duckdb_path: Path | None = Field(default=None, description="Market data DuckDB file; var/market.duckdb.")
    market_database_url: str | None = Field(
        default=None, description="Serve market data from PostgreSQL instead of DuckDB (postgres://…)."
    )
    redis_url: str | None = Field(default=None, description="Redis for app state across workers.")
    kafka_bootstrap: str | None = Field(default=None, description="Kafka bootstrap servers for live data.")
    flink_scores: bool = Field(
        default=False,
        description="Score live competitions on Kafka with the Flink scores job (docs/competitions.md).",
    )
    live_symbols: str = Field(
        default="GOOG,AAPL,MSFT,IBM", description="Symbols of the live market page, comma-separated."
    )
    live_speed: float = Field(
        default=1.0, gt=0, le=1000, description="Trading days per second of the embedded live replay."
    )
    live_feed: bool = Field(
        default=True, description="Run the live market feed in the app (docs/broadcast.md)."
    )
    sandbox_workers: int = Field(
        default=2,
        ge=0,
        description="Sandbox worker processes each app process keeps warm (0: run `quanta worker` apart).",
    )
    secret_key: SecretStr = Field(default=SecretStr(DEVELOPMENT_SECRET))
    public_url: str = Field(
        default="http://localhost:3000", description="Where people reach the app; links in emails start here."
    )
    mail_from: str = Field(default="Quanta <no-reply@localhost>", description="Sender of every email.")
    smtp_host: str | None = Field(default=None, description="SMTP server; unset prints mail to the console.")
    smtp_port: int = Field(default=587, description="SMTP port (587 with STARTTLS, 465 with smtp_ssl).")
    smtp_username: str | None = Field(default=None, description="SMTP login, if the server needs one.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    smtp_starttls: bool = Field(default=True, description="Upgrade the SMTP connection with STARTTLS.")
    smtp_ssl: bool = Field(default=False, description="Connect with implicit TLS (port 465) instead.")
    github_client_id: str | None = Field(default=None, description="GitHub OAuth app (sign in with GitHub).")
    github_client_secret: SecretStr | None = Field(default=None, description="That GitHub app's secret.")
    google_client_id: str | None = Field(default=None, description="Google OAuth app (sign in with Google).")
    google_client_secret: SecretStr | None = Field(default=None, description="That Google client's secret.")
    oidc_issuer: str | None = Field(default=None, description="Issuer URL of an OpenID Connect provider.")
    oidc_client_id: str | None = Field(default=None, description="Quanta's client id at that provider.")
    oidc_client_secret: SecretStr | None = Field(default=None, description="Quanta's secret there.")
    oidc_name: str = Field(default="Single sign-on", description="The sign-in button's name for it.")

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.env == "development":
            return self
        secret = self.secret_key.get_secret_value()
        if secret.lower() in _PLACEHOLDER_SECRETS or len(secret) < _MIN_SECRET_LENGTH:
            msg = (
                f"QUANTA_SECRET_KEY must be a random value of at least {_MIN_SECRET_LENGTH} characters "
                f"when QUANTA_ENV={self.env}; generate one with `python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'`."
            )
            raise SettingsError(msg)
        return self

    @property
    def app_database_url(self) -> str:
        """The SQLAlchemy URL for users and app data."""
        return self.database_url or f"sqlite:///{(self.var_dir / 'quanta.db').resolve()}"

    @property
    def market_duckdb_path(self) -> Path:
        """The DuckDB file that holds market data in the embedded default."""
        return (self.duckdb_path or self.var_dir / "market.duckdb").resolve()

    @property
    def live_symbol_list(self) -> list[str]:
        """``live_symbols`` as a list, in the given order, without blanks or repeats."""
        return list(dict.fromkeys(s.strip() for s in self.live_symbols.split(",") if s.strip()))

    @property
    def uploads_dir(self) -> Path:
        """Where uploaded files are kept while they are validated."""
        return (self.var_dir / "uploads").resolve()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
