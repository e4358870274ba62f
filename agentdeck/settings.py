"""Settings, read from AGENTDECK_* environment variables and a `.env` file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob agentdeck has; each field is documented where it is declared."""

    model_config = SettingsConfigDict(
        env_prefix="AGENTDECK_", env_file=".env", extra="ignore", populate_by_name=True
    )

    data_dir: Path = Field(Path(".agentdeck"), description="Folder for the SQLite file and data.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default is a SQLite file in data_dir."
    )
    sqlite_synchronous: str = Field(
        "NORMAL",
        description="SQLite `synchronous` pragma: FULL survives power loss, NORMAL is much faster "
        "and in WAL mode loses at most the last commits on power loss, never on a process crash.",
    )
    host: str = Field("127.0.0.1", description="Address `agentdeck up` binds to.")
    port: int = Field(8000, description="Port `agentdeck up` binds to.")
    concurrency: int = Field(100, ge=1, description="Runs a worker executes at once.")
    lease_interval: timedelta = Field(
        timedelta(seconds=30), description="How long a claim holds without a heartbeat."
    )
    heartbeat_interval: timedelta = Field(
        timedelta(seconds=5), description="How often a worker renews the leases of its runs."
    )
    rescue_interval: timedelta = Field(
        timedelta(seconds=5), description="How often a worker looks for runs whose lease expired."
    )
    poll_interval: timedelta = Field(
        timedelta(seconds=2),
        description="Safety-net poll when no wake-up arrives (wake-ups are pushed, not polled).",
    )
    worker_lost_after: timedelta = Field(
        timedelta(seconds=60), description="A worker silent this long is shown as lost."
    )
    stalled_after: timedelta = Field(
        timedelta(minutes=2), description="A running run with an older heartbeat is stalled."
    )
    shutdown_grace: timedelta = Field(
        timedelta(seconds=30),
        description="On SIGTERM, how long runs may finish before they are released to the queue.",
    )

    workflow_modules: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Python modules (comma-separated) whose `register(registry)` adds workflows.",
    )

    @field_validator("workflow_modules", mode="before")
    @classmethod
    def _split_modules(cls, value: object) -> object:
        if isinstance(value, str):
            return [m.strip() for m in value.split(",") if m.strip()]
        return value

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'agentdeck.db').resolve()}"
