"""The Ember process: validate, sync schedules and run one Temporal worker per queue.

    python worker.py --app examples.helpdesk.app:helpdesk run
    python worker.py dev          # embedded Postgres + Temporal dev server + worker

``EmberWorker(domain, settings)`` runs the same in code, for tests and embedding.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from types import TracebackType
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from activities.outbox import OutboxRelay
from activities.registration import bound_activities
from activities.runtime import Runtime, RuntimeConfig, create_engine
from registry import Domain, RegistryError, naming
from workflows.bulk import BulkChunkTriggerWorkflow
from workflows.chunk import ChunkTriggerWorkflow
from workflows.connection import connect_with, ensure_search_attributes
from workflows.record import RecordTriggerWorkflow
from workflows.scan import TriggerScanWorkflow
from workflows.scheduled import ScheduledActionWorkflow
from workflows.schedules import sync_schedules
from workflows.settings import Settings, describe_errors, unknown_variable_warnings
from workflows.startup import load_domain, load_seed, prepare_database

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
        self.domain.validate(queues=self.queues)
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


# --- command line -------------------------------------------------------------------------

SETTING_OPTIONS = {
    name: f"{field.description} (EMBER_{name.upper()})"
    for name, field in Settings.model_fields.items()
}
"""Every setting as a ``--option``, with the description the settings model gives it."""


class CommandError(Exception):
    """A one-line error for the command line."""


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings from the environment, overridden by the options given."""
    given = {name: getattr(args, name) for name in SETTING_OPTIONS if getattr(args, name, None)}
    try:
        return Settings(**given)
    except ValidationError as error:
        raise CommandError(describe_errors(error)) from error


def build_parser() -> argparse.ArgumentParser:
    """The ``worker.py`` command line."""
    parser = argparse.ArgumentParser(
        prog="worker.py", description="Ember: declarative background triggers on Temporal."
    )
    for name, help_text in SETTING_OPTIONS.items():
        parser.add_argument("--" + name.replace("_", "-"), dest=name, help=help_text)
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("validate", help="check the registry and list its triggers and schedules")
    commands.add_parser("run", help="sync schedules and run the worker until SIGTERM")
    dev = commands.add_parser("dev", help="embedded Postgres + Temporal dev server + UI + worker")
    dev.add_argument("--root", default=".ember", help="where the local state lives")
    dev.add_argument("--temporal-port", type=int, default=7233, help="Temporal frontend port")
    dev.add_argument("--ui-port", type=int, default=8233, help="Temporal web UI port")
    dev.add_argument("--seed", help="module:function inserting demo rows (async, given a session)")
    commands.add_parser("migrate", help="create Ember's tables in the database if missing")
    commands.add_parser("status", help="per trigger: schedule, last scan, matching rows, outcomes")
    schedules = commands.add_parser("schedules", help="list, sync, pause, unpause or trigger")
    actions = schedules.add_subparsers(dest="schedule_command", required=True, metavar="ACTION")
    actions.add_parser("list", help="id, cron, state and next run of each Ember schedule")
    actions.add_parser("sync", help="make the server's schedules match the registry")
    for verb in ("pause", "unpause", "trigger-now"):
        action = actions.add_parser(verb, help=f"{verb} one schedule")
        action.add_argument("resource", help="resource name (see `worker.py validate`)")
        action.add_argument("name", help="trigger or scheduled action name")
    trigger = commands.add_parser("trigger", help="run a trigger for one record now")
    trigger_actions = trigger.add_subparsers(
        dest="trigger_command", required=True, metavar="ACTION"
    )
    run_one = trigger_actions.add_parser("run", help="run <resource> <trigger> <pk>")
    run_one.add_argument("resource", help="resource name (see `worker.py validate`)")
    run_one.add_argument("trigger", help="trigger name on that resource")
    run_one.add_argument("pk", help="the record's primary key")
    run_one.add_argument("--tenant", help="the record's tenant")
    run_one.add_argument(
        "--actor-ref", help='the actor\'s reference, e.g. \'{"type": "users", "id": 7}\''
    )
    run_one.add_argument("--wait", action="store_true", help="wait for the outcome")
    return parser


def describe_registry(domain: Domain) -> str:
    """The triggers and scheduled actions of ``domain``, one line each."""
    lines = [
        f"domain {domain.name}: {len(domain.triggers)} triggers, {len(domain.schedules)} schedules"
    ]
    for trigger in domain.triggers:
        options = trigger.options
        lines.append(
            f"  trigger  {trigger.resource.name}.{trigger.name}: action={options.action} "
            f"cron={options.scheduler_cron or '-'} queue={trigger.queue} "
            f"max_attempts={options.max_attempts} state={options.state}"
        )
    for scheduled in domain.schedules:
        declared = scheduled.options
        lines.append(
            f"  schedule {scheduled.resource.name}.{scheduled.name}: action={declared.action} "
            f"cron={declared.cron} queue={scheduled.queue} state={declared.state}"
        )
    return "\n".join(lines)


async def scan_now(worker: EmberWorker) -> None:
    """Fire every trigger schedule once, so the dev stack shows work at once."""
    assert worker.client is not None
    for trigger in worker.domain.triggers:
        if trigger.has_schedule and trigger.options.state == "active":
            schedule_id = trigger.schedule_id_for(worker.settings.task_queue_prefix)
            await worker.client.get_schedule_handle(schedule_id).trigger()


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


PROGRESS_EVERY = 3.0


async def show_progress(client: Client, settings: Settings, domain: Domain) -> None:
    """Print one line per trigger every few seconds until cancelled."""
    from workflows.status import domain_status

    engine = create_engine(settings.require_database_url(), pool_size=1)
    shown = ""
    try:
        while True:
            await asyncio.sleep(PROGRESS_EVERY)
            with contextlib.suppress(Exception):  # visibility may lag; try next time
                rows = await domain_status(client, engine, domain, settings.task_queue_prefix)
                text = "\n".join(row.line() for row in rows)
                if text != shown:
                    print(f"--- ember progress ---\n{text}", flush=True)
                    shown = text
    finally:
        await engine.dispose()


async def run_dev(args: argparse.Namespace, base: Settings) -> int:
    """The local stack: embedded Postgres, Temporal dev server + UI, the worker."""
    from workflows.testing.devstack import DevStack

    domain = load_domain(base.app)
    seed = load_seed(args.seed) if args.seed else None
    async with DevStack(
        args.root,
        temporal_port=args.temporal_port,
        ui_port=args.ui_port,
        tables=domain.metadata,
        seed=seed,
    ) as stack:
        settings = base.model_copy(
            update={"database_url": stack.database_url, "temporal_address": stack.temporal_address}
        )
        query = quote(f"WorkflowType={naming.visibility_literal(naming.RECORD_WORKFLOW)}")
        print(
            f"\nEmber dev stack is up (state in {stack.root}):\n"
            f"  Temporal UI   {stack.ui_url}/namespaces/default/workflows?query={query}\n"
            f"  Temporal      {stack.temporal_address}\n"
            f"  PostgreSQL    {stack.database_url}\n"
            f"  app           {base.app} ({len(domain.triggers)} triggers)\n"
            "Press Ctrl-C to stop.\n",
            flush=True,
        )
        logging.getLogger("temporalio.workflow").setLevel(logging.WARNING)  # progress instead
        progress = asyncio.ensure_future(show_progress(stack.client, settings, domain))
        worker = EmberWorker(domain, settings, client=stack.client)
        try:
            await run_until_signalled(worker, on_start=scan_now)
        finally:
            progress.cancel()
    print("ember: dev stack stopped")
    return 0


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (EMBER_LOG_JSON)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def use_json_logs() -> None:
    """Switch every handler of the root logger to JSON lines."""
    for handler in logging.getLogger().handlers:
        handler.setFormatter(JsonLogFormatter())


async def execute(args: argparse.Namespace) -> int:
    """Run one command; returns the exit code."""
    settings = settings_from(args)
    if settings.log_json:
        use_json_logs()
    for warning in unknown_variable_warnings(os.environ):
        logger.warning("ember: %s", warning)
    if args.command == "dev":
        return await run_dev(args, settings)
    domain = load_domain(settings.app)
    if args.command == "validate":
        domain.validate(settings.queues)
        print(describe_registry(domain))
        return 0
    if args.command == "migrate":
        engine = create_engine(settings.require_database_url())
        try:
            await prepare_database(engine)
        finally:
            await engine.dispose()
        print("ember: tables ready")
        return 0
    if args.command == "run":
        await run_until_signalled(EmberWorker(domain, settings))
        return 0
    from workflows.commands import check_arguments, run_client_command

    check_arguments(args, domain)  # before connecting: a typo is not a network problem
    return await run_client_command(args, domain, settings, await connect_with(settings))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: one line on error (a traceback only with --debug)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        return asyncio.run(execute(args))
    except RegistryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        if args.debug:
            raise
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        line = " ".join(str(message).split()) or type(error).__name__  # one line, always
        print(f"error: {line}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # The Temporal SDK's native threads can crash interpreter finalisation
    # (PyGILState_Release); everything is flushed and closed, so leave at once.
    os._exit(code)
