"""EmberWorker: validate the registry, sync schedules and run a Temporal worker per queue.

The library side of ``python worker.py run``, for tests and embedding::

    async with EmberWorker(domain, Settings()) as worker:
        await worker.wait()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import timedelta
from types import TracebackType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from ember.activities.outbox import OutboxRelay
from ember.activities.registration import bound_activities
from ember.activities.runtime import RuntimeConfig, WorkerRuntime, create_engine
from ember.registry import Domain, naming
from ember.workflows.bulk import BulkChunkTriggerWorkflow
from ember.workflows.chunk import ChunkTriggerWorkflow
from ember.workflows.connection import connect_with, ensure_search_attributes
from ember.workflows.record import RecordTriggerWorkflow
from ember.workflows.scan import TriggerScanWorkflow
from ember.workflows.schedule_sync import sync_schedules
from ember.workflows.scheduled import ScheduledActionWorkflow
from ember.workflows.settings import Settings
from ember.workflows.startup import prepare_database

logger = logging.getLogger("ember.worker")

WORKFLOWS = [
    RecordTriggerWorkflow,
    ChunkTriggerWorkflow,
    BulkChunkTriggerWorkflow,
    TriggerScanWorkflow,
    ScheduledActionWorkflow,
]
DRAIN_TIMEOUT = timedelta(seconds=30)
# Ember's workflows are Ember's own deterministic code (users' code runs in activities),
# so they run outside the sandbox: building a sandbox per run cost about a third of the
# worker's CPU per record (bench/; the CHANGELOG has the numbers).
WORKFLOW_RUNNER = UnsandboxedWorkflowRunner()


def runtime_config(settings: Settings, *, search_attributes: bool = True) -> RuntimeConfig:
    """The runtime knobs the settings ask for."""
    return RuntimeConfig(
        task_queue_prefix=settings.task_queue_prefix,
        lock_timeout=settings.lock_timeout,
        signing_key=settings.signing_key(),
        actor_max_age=settings.actor_max_age,
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
        relay_outbox: run the outbox relay in this process.
    """

    def __init__(
        self,
        domain: Domain,
        settings: Settings,
        *,
        client: Client | None = None,
        sync: bool = True,
        search_attributes: bool = True,
        relay_outbox: bool = True,
    ) -> None:
        self.domain = domain
        self.settings = settings
        self.queues = settings.queue_concurrency(domain.queues)
        self.client = client
        self._sync = sync
        self._search_attributes = search_attributes
        self._relay_outbox = relay_outbox
        self._stop_relay = asyncio.Event()
        self._engine: AsyncEngine | None = None
        self._workers: list[Worker] = []
        self._running: asyncio.Future[Any] | None = None

    async def __aenter__(self) -> EmberWorker:
        self.domain.validate(
            queues=self.queues, require_all_queues=self.settings.require_all_queues
        )
        database_url = self.settings.require_database_url()  # before any connection
        client = self.client = self.client or await connect_with(self.settings)
        if self._search_attributes:
            await ensure_search_attributes(client)
        engine = self._engine = create_engine(database_url, self.settings.database_pool_size)
        try:
            await prepare_database(engine)
        except BaseException:
            await engine.dispose()
            self._engine = None
            raise
        if self._sync:
            report = await sync_schedules(client, self.domain, self.settings.task_queue_prefix)
            logger.info(
                "ember: schedules created=%d updated=%d unchanged=%d deleted=%d",
                len(report.created),
                len(report.updated),
                len(report.unchanged),
                len(report.deleted),
            )
        runtime = WorkerRuntime(
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
                    workflow_runner=WORKFLOW_RUNNER,
                    activities=activities,
                    max_concurrent_activities=concurrency,
                    max_concurrent_local_activities=concurrency,
                    max_cached_workflows=self.settings.workflow_cache(
                        self.domain.largest_chunk(queue)
                    ),
                    graceful_shutdown_timeout=DRAIN_TIMEOUT,
                )
            )
        tasks = [worker.run() for worker in self._workers]
        if self._relay_outbox:
            tasks.append(OutboxRelay(runtime).run(self._stop_relay))
        self._running = asyncio.gather(*tasks)
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
        self._stop_relay.set()
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


async def run_until_signalled(
    worker: EmberWorker, on_start: Callable[[EmberWorker], Awaitable[None]] | None = None
) -> None:
    """Run ``worker`` until SIGTERM or SIGINT, then drain it."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with worker:
        if on_start is not None:
            await on_start(worker)
        waiting = asyncio.ensure_future(worker.wait())
        stopping = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if waiting in done:
            waiting.result()
        logger.info("ember: stopping; draining in-flight activities")
    for task in (waiting, stopping):
        task.cancel()
