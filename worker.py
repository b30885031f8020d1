"""The Ember process: validate, sync schedules and run one Temporal worker per queue.

    python worker.py --app examples.helpdesk.app:helpdesk run
    python worker.py dev          # embedded Postgres + Temporal dev server + worker

``EmberWorker(domain, settings)`` runs the same in code, for tests and embedding.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import signal
import sys
from collections.abc import Sequence
from datetime import timedelta
from types import TracebackType
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.worker import Worker

from activities.registration import bound_activities
from activities.runtime import Runtime, RuntimeConfig, create_engine
from registry import Domain, RegistryError, create_ember_tables, naming
from workflows.connection import connect, ensure_search_attributes
from workflows.record import RecordTriggerWorkflow
from workflows.scan import TriggerScanWorkflow
from workflows.scheduled import ScheduledActionWorkflow
from workflows.schedules import sync_schedules
from workflows.settings import Settings

logger = logging.getLogger("ember.worker")

WORKFLOWS = [RecordTriggerWorkflow, TriggerScanWorkflow, ScheduledActionWorkflow]
DRAIN_TIMEOUT = timedelta(seconds=30)


async def connect_from(settings: Settings) -> Client:
    """A Temporal client from the ``EMBER_TEMPORAL_*`` settings."""
    api_key = settings.temporal_api_key
    return await connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        tls_cert=settings.temporal_tls_cert,
        tls_key=settings.temporal_tls_key,
        api_key=api_key.get_secret_value() if api_key else None,
        metrics_bind=settings.metrics_bind,
    )


def runtime_config(settings: Settings, *, search_attributes: bool = True) -> RuntimeConfig:
    """The runtime knobs the settings ask for."""
    key = settings.actor_signing_key
    return RuntimeConfig(
        task_queue_prefix=settings.task_queue_prefix,
        lock_timeout=settings.lock_timeout,
        signing_key=key.get_secret_value().encode() if key else None,
        search_attributes=search_attributes,
    )


class EmberWorker:
    """Validates the registry, syncs schedules and runs a Temporal worker per queue.

    Args:
        domain: the registry to run.
        settings: database, Temporal and queue settings.
        client: an existing Temporal client (else one is made from settings).
        sync: sync schedules on start.
        search_attributes: register and set Ember's search attributes
            (the time-skipping test server has none).
    """

    def __init__(
        self,
        domain: Domain,
        settings: Settings,
        *,
        client: Client | None = None,
        sync: bool = True,
        search_attributes: bool = True,
    ) -> None:
        self.domain = domain
        self.settings = settings
        self.queues = settings.queue_concurrency(domain.queues)
        self.client = client
        self._sync = sync
        self._search_attributes = search_attributes
        self._engine: AsyncEngine | None = None
        self._workers: list[Worker] = []
        self._running: asyncio.Future[Any] | None = None

    async def __aenter__(self) -> EmberWorker:
        self.domain.validate(queues=self.queues)
        client = self.client = self.client or await connect_from(self.settings)
        if self._search_attributes:
            await ensure_search_attributes(client)
        engine = self._engine = create_engine(
            self.settings.require_database_url(), self.settings.database_pool_size
        )
        await create_ember_tables(engine)
        if self._sync:
            report = await sync_schedules(client, self.domain, self.settings.task_queue_prefix)
            logger.info(
                "ember: schedules created=%d updated=%d unchanged=%d deleted=%d",
                len(report.created),
                len(report.updated),
                len(report.unchanged),
                len(report.deleted),
            )
        runtime = Runtime(
            self.domain,
            engine,
            client,
            runtime_config(self.settings, search_attributes=self._search_attributes),
        )
        activities = bound_activities(runtime)
        for queue, concurrency in self.queues.items():
            self._workers.append(
                Worker(
                    client,
                    task_queue=naming.task_queue(
                        self.domain.name, queue, self.settings.task_queue_prefix
                    ),
                    workflows=WORKFLOWS,
                    activities=activities,
                    max_concurrent_activities=concurrency,
                    graceful_shutdown_timeout=DRAIN_TIMEOUT,
                )
            )
        self._running = asyncio.gather(*(worker.run() for worker in self._workers))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.shutdown()

    async def shutdown(self) -> None:
        """Stop polling, let in-flight activities finish (bounded), close the pool."""
        await asyncio.gather(*(worker.shutdown() for worker in self._workers))
        if self._running is not None:
            with contextlib.suppress(Exception):
                await self._running
        if self._engine is not None:
            await self._engine.dispose()

    async def wait(self) -> None:
        """Run until the workers stop (a fatal worker error is raised here)."""
        if self._running is not None:
            await self._running


def load_domain(app: str | None) -> Domain:
    """The Domain at ``module:attribute``."""
    if not app or ":" not in app:
        raise ValueError(
            f"EMBER_APP: expected module:attribute of a Domain such as "
            f"'examples.helpdesk.app:helpdesk', found {app!r}; fix: pass --app or set EMBER_APP"
        )
    module_name, _, attribute = app.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(
            f"EMBER_APP: expected an importable module, found {module_name!r} ({error}); "
            "fix: check the module path and that it is on PYTHONPATH"
        ) from error
    domain = getattr(module, attribute, None)
    if not isinstance(domain, Domain):
        raise ValueError(
            f"EMBER_APP: expected {app!r} to be a registry.Domain, found "
            f"{type(domain).__name__}; fix: point --app at the Domain object"
        )
    return domain
