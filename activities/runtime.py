"""What every activity shares in one worker process: registry, connection pool, client."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import URL, NullPool, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from ember.activities.transaction import owned_sessions
from ember.activities.types import FOREIGN_DOMAIN_ERROR, DeclarationRef
from ember.registry import Domain, ScheduledAction, Trigger
from ember.registry.signing import DEFAULT_MAX_AGE, Signer


@dataclass(frozen=True)
class RuntimeConfig:
    """Process-wide knobs of the runtime (built from the worker's settings)."""

    task_queue_prefix: str = ""
    lock_timeout: timedelta = timedelta(seconds=10)
    signing_key: bytes | None = None
    actor_max_age: timedelta = DEFAULT_MAX_AGE
    search_attributes: bool = True
    start_concurrency: int = 64

    @property
    def signer(self) -> Signer:
        """Seals and checks actor references with the signing key and maximum age."""
        return Signer(self.signing_key, self.actor_max_age)


@dataclass
class WorkerRuntime:
    """The domain, one connection pool and one Temporal client, shared by all activities.

    ``thread_sessions`` open a connection of their own (no pool: a pool's connections
    belong to one event loop) for the transactions of plain ``def`` actions, which run
    on threads of their own.
    """

    domain: Domain
    engine: AsyncEngine
    client: Client
    config: RuntimeConfig = field(default_factory=RuntimeConfig)

    def __post_init__(self) -> None:
        self.sessions = owned_sessions(self.engine)
        url = self.engine.url
        threaded = create_async_engine(url, poolclass=NullPool, connect_args=_connect_args(url))
        self.thread_sessions = owned_sessions(threaded)

    def trigger(self, ref: DeclarationRef) -> Trigger:
        """The registry trigger ``ref`` names (in this worker's domain)."""
        self._check_domain(ref)
        return self.domain.get_trigger(ref.resource, ref.name)

    def scheduled_action(self, ref: DeclarationRef) -> ScheduledAction:
        """The registry scheduled action ``ref`` names."""
        self._check_domain(ref)
        return self.domain.get_schedule(ref.resource, ref.name)

    def _check_domain(self, ref: DeclarationRef) -> None:
        if ref.domain != self.domain.name:  # a retry on this worker could never succeed
            attempt = [activity.info().attempt] if activity.in_activity() else []
            raise ApplicationError(
                f"domain: expected {self.domain.name!r} (this worker's), found {ref.domain!r}; "
                "fix: start runs of that domain on its own task queues",
                *attempt,
                type=FOREIGN_DOMAIN_ERROR,
                non_retryable=True,
            )


CONNECT_TIMEOUT_SECONDS = 10


def create_engine(url: str, pool_size: int = 10) -> AsyncEngine:
    """One pooled async engine per worker process.

    Connecting gives up after ``CONNECT_TIMEOUT_SECONDS`` unless the URL sets its own
    ``connect_timeout``: a server that accepts but never answers must not hang the worker.
    """
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args=_connect_args(url),
    )


def _connect_args(url: str | URL) -> dict[str, int]:
    given = "connect_timeout" in make_url(url).query
    return {} if given else {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
