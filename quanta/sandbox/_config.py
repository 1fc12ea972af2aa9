"""What a sandbox worker is told when it starts (one JSON line on its standard input)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from quanta.sandbox.models import QueueConfig, SandboxLimits
from quanta.settings import Settings

READY = "ready"
"""The status of the line a worker prints once it is warm."""


class WorkerConfig(BaseModel):
    """What a worker needs: where the databases are, the limits, and how to share the queue."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    database_url: str
    var_dir: str
    duckdb_path: str | None = None
    market_database_url: str | None = None
    limits: SandboxLimits = SandboxLimits()
    queue: QueueConfig = QueueConfig()
    checks: bool = True
    """The Python-level checks. Only tests switch them off, to show the operating-system walls alone."""
    plan: str | None = None
    """Force an isolation plan by name (``root``, ``user-namespace``, ``chroot``, ``limits-only``)."""
    scratch_dir: str | None = None

    @classmethod
    def of(cls, settings: Settings, **knobs: Any) -> WorkerConfig:
        """The configuration of workers serving ``settings``' databases."""
        return cls(
            database_url=settings.app_database_url,
            var_dir=str(settings.var_dir.resolve()),
            duckdb_path=str(settings.market_duckdb_path),
            market_database_url=settings.market_database_url,
            **knobs,
        )

    def settings(self) -> Settings:
        """Settings with the databases only (no secret: a worker needs none)."""
        return Settings(
            var_dir=Path(self.var_dir),
            database_url=self.database_url,
            duckdb_path=Path(self.duckdb_path) if self.duckdb_path else None,
            market_database_url=self.market_database_url,
        )
