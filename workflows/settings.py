"""Process settings: ``EMBER_*`` environment variables, each also a worker.py option."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from registry import naming
from registry.signing import DEFAULT_MAX_AGE

DEFAULT_CONCURRENCY = 10
# Runs a worker keeps in memory between their tasks, per queue: Temporal's default, and a
# budget in records for queues whose triggers run chunks (a cached chunk run holds all its
# records: about 0.6 KB each, as measured with the bench's 1M-row scan).
DEFAULT_WORKFLOW_CACHE_SIZE = 1000
CHUNK_CACHE_RECORDS = 50_000
MIN_WORKFLOW_CACHE_SIZE = 10


def parse_queues(value: Any) -> dict[str, int]:
    """``"tickets=10,default=5"`` (or a dict) to ``{"tickets": 10, "default": 5}``."""
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, str):
        items = []
        for part in filter(None, (p.strip() for p in value.split(","))):
            name, sep, count = part.partition("=")
            if not sep or not name.strip():
                raise ValueError(
                    "expected name=concurrency pairs such as 'tickets=10,default=5', "
                    f"found {part!r}"
                )
            items.append((name.strip(), count.strip()))
    else:
        raise ValueError(f"expected 'name=concurrency,...', found {value!r}")
    queues: dict[str, int] = {}
    for name, count in items:
        try:
            queues[str(name)] = int(count)
        except (TypeError, ValueError):
            raise ValueError(
                f"expected a whole number of concurrent runs for queue {name!r}, found {count!r}"
            ) from None
        if queues[str(name)] < 1:
            raise ValueError(f"expected concurrency >= 1 for queue {name!r}, found {count!r}")
    return queues


class Settings(BaseSettings):
    """Everything the worker and client need to reach PostgreSQL and Temporal.

    Each field is read from ``EMBER_<FIELD>`` (e.g. ``EMBER_DATABASE_URL``).
    """

    model_config = SettingsConfigDict(env_prefix="EMBER_", extra="forbid", frozen=True)

    app: str | None = Field(default=None, description="module:attribute of the Domain")
    database_url: str | None = Field(default=None, description="postgresql+psycopg://...")
    temporal_address: str = Field(default="localhost:7233", description="Temporal frontend")
    temporal_namespace: str = Field(default="default", description="Temporal namespace")
    temporal_tls: bool | None = Field(
        default=None, description="TLS on/off (default: on with a certificate, CA or API key)"
    )
    temporal_tls_server_ca: str | None = Field(
        default=None, description="CA the server certificate is checked against (PEM path)"
    )
    temporal_tls_cert: str | None = Field(default=None, description="client certificate (PEM path)")
    temporal_tls_key: str | None = Field(default=None, description="client key (PEM path)")
    temporal_api_key: SecretStr | None = Field(default=None, description="Temporal Cloud API key")
    queues: dict[str, int] | None = Field(
        default=None, description="queue=concurrency,... (every registry queue, 10 each)"
    )
    metrics_bind: str | None = Field(default=None, description="host:port of /metrics")
    task_queue_prefix: str = Field(
        default="", description="environment prefix of every task queue, workflow and schedule id"
    )
    actor_signing_key: SecretStr | None = Field(
        default=None, description="HMAC key signing actor references"
    )
    actor_max_age: timedelta = Field(
        default=DEFAULT_MAX_AGE,
        gt=timedelta(0),
        description="refuse an actor reference signed longer than this before its run started",
    )
    lock_timeout: timedelta = Field(
        default=timedelta(seconds=10), description="wait for a row lock before retrying"
    )
    database_pool_size: int = Field(default=10, ge=1, description="connections per worker")
    workflow_cache_size: int | None = Field(
        default=None,
        ge=0,
        description="runs kept in memory per queue (default: 1000, fewer for chunk queues)",
    )
    log_json: bool = Field(default=False, description="one JSON object per log line")

    @field_validator("queues", mode="before")
    @classmethod
    def _parse_queues(cls, value: Any) -> Any:
        return None if value in (None, "") else parse_queues(value)

    @field_validator("task_queue_prefix")
    @classmethod
    def _check_prefix(cls, value: str) -> str:
        return naming.check_prefix(value)

    @field_validator("lock_timeout", "actor_max_age", mode="before")
    @classmethod
    def _seconds(cls, value: Any) -> Any:
        """``"3"`` or ``"2.5"`` (an environment variable or option) is seconds."""
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return float(value)
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("postgresql"):
            raise ValueError(f"expected a postgresql+psycopg://... URL, found {value!r}")
        if value is not None and value.startswith(("postgresql://", "postgres://")):
            return "postgresql+psycopg://" + value.split("://", 1)[1]
        return value

    def queue_concurrency(self, registry_queues: set[str]) -> dict[str, int]:
        """The queues to run: the configured ones, or every registry queue at the default."""
        if self.queues is not None:
            return dict(self.queues)
        return {queue: DEFAULT_CONCURRENCY for queue in sorted(registry_queues)}

    def workflow_cache(self, largest_chunk: int | None) -> int:
        """Runs cached per queue: the setting, else ``DEFAULT_WORKFLOW_CACHE_SIZE`` runs, or
        about ``CHUNK_CACHE_RECORDS`` records when the queue's largest ``chunk_size`` is
        ``largest_chunk`` (a chunk run holds all its records, so memory stays bounded).
        """
        if self.workflow_cache_size is not None:
            return self.workflow_cache_size
        if largest_chunk is None:
            return DEFAULT_WORKFLOW_CACHE_SIZE
        by_records = CHUNK_CACHE_RECORDS // largest_chunk
        return max(MIN_WORKFLOW_CACHE_SIZE, min(DEFAULT_WORKFLOW_CACHE_SIZE, by_records))

    def signing_key(self) -> bytes | None:
        """The actor signing key as bytes, or None when references are not signed."""
        key = self.actor_signing_key
        return key.get_secret_value().encode() if key else None

    def require_database_url(self) -> str:
        """The database URL, or a ValueError naming the variable to set."""
        if not self.database_url:
            raise ValueError(
                "EMBER_DATABASE_URL: expected a postgresql+psycopg://... URL, found nothing; "
                "fix: set EMBER_DATABASE_URL or pass --database-url"
            )
        return self.database_url
