"""The all-in-one local stack behind ``python worker.py dev``.

Embedded PostgreSQL and the Temporal dev server (with its UI), both keeping their state
under one directory (``.ember/`` by default), plus the application's tables, Ember's
tables and, when asked, the application's demo rows. A second start resumes from the kept
state; ``dev.pid`` in the root marks the running stack, so a start after a crash can stop
the servers it left.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import shlex
import socket
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import quote

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from ember.registry import Domain, create_ember_tables, naming
from ember.workflows.settings import Settings
from ember.workflows.status import not_succeeded_query
from ember.workflows.testing.extras import needs
from ember.workflows.testing.servers import LocalPostgres, ServerError, pid_alive, start_dev_server

if TYPE_CHECKING:
    from ember.workflows.worker import EmberWorker

logger = logging.getLogger("ember.dev")

HOST = "127.0.0.1"
PID_FILE = "dev.pid"

SeedFunction = Callable[[AsyncSession], Awaitable[int | None]]
"""Inserts demo rows through the session (and commits); returns how many, or None."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def ensure_port_free(port: int, what: str, option: str) -> None:
    """Fail early, with the fix, when ``port`` on 127.0.0.1 is taken.

    Raises:
        ServerError: something already listens on the port.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Like the servers themselves: connections of a previous run in TIME_WAIT are fine.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as error:
            if error.errno != errno.EADDRINUSE:
                raise
            raise ServerError(
                f"expected port {port} free for the {what}, found it in use (another "
                f"`worker.py dev`?); fix: stop that process or pass {option} <port>"
            ) from None


def _stop_orphaned_temporal(database_file: Path) -> None:
    # A dev stack killed outright (SIGKILL, closed terminal) leaves its Temporal server
    # running on the port, holding the state file; find it by that file and stop it.
    with needs("psutil"):
        import psutil

    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if "--db-filename" in cmdline and str(database_file) in cmdline:
            logger.warning("stopping Temporal server %d left by a crashed run", process.pid)
            process.terminate()
            try:
                process.wait(5)
            except psutil.TimeoutExpired:
                process.kill()


def stop_leftovers(root: Path) -> None:
    """Stop any servers a dev stack killed outright left running on ``root``."""
    root = root.resolve()
    _stop_orphaned_temporal(root / "temporal.db")
    if (root / "postgres" / "postmaster.pid").exists():
        LocalPostgres.start(root / "postgres", keep=True).stop()


def claim_root(root: Path) -> None:
    """Mark ``root`` as used by this process; clean up after a crashed previous run.

    Raises:
        ServerError: another live process runs a dev stack on ``root``.
    """
    pid_file = root / PID_FILE
    if pid_file.exists():
        previous = int(pid_file.read_text().strip() or 0)
        if previous and previous != os.getpid() and pid_alive(previous):
            raise ServerError(
                f"expected no other dev stack using {root}, found process {previous} "
                f"running one; fix: stop it (kill {previous}) or pass another --root"
            )
    _stop_orphaned_temporal(root / "temporal.db")
    pid_file.write_text(f"{os.getpid()}\n")


def release_root(root: Path) -> None:
    """Drop this process's mark on ``root`` (see :func:`claim_root`)."""
    pid_file = root / PID_FILE
    if pid_file.exists() and pid_file.read_text().strip() == str(os.getpid()):
        pid_file.unlink()


async def scan_now(worker: EmberWorker) -> None:
    """Fire every active trigger schedule once, so the dev stack shows work at once."""
    assert worker.client is not None
    for trigger in worker.domain.triggers:
        if trigger.has_schedule and trigger.options.state == "active":
            schedule_id = trigger.schedule_id_for(worker.settings.task_queue_prefix)
            await worker.client.get_schedule_handle(schedule_id).trigger()


def export_line(settings: Settings) -> str:
    """``export EMBER_APP=... EMBER_DATABASE_URL='...' ...``: what other commands need."""
    values = {
        "EMBER_APP": settings.app,
        "EMBER_DATABASE_URL": settings.database_url,
        "EMBER_TEMPORAL_ADDRESS": settings.temporal_address,
        "EMBER_TASK_QUEUE_PREFIX": settings.task_queue_prefix or None,
    }
    assignments = (f"{name}={shlex.quote(value)}" for name, value in values.items() if value)
    return "export " + " ".join(assignments)


def counted(items: Sequence[object], noun: str) -> str:
    """``1 trigger``, ``3 triggers``."""
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


class DevStack:
    """Embedded PostgreSQL + Temporal dev server with UI, state kept under ``root``.

    Example::

        async with DevStack() as stack:
            print(stack.database_url, stack.temporal_address, stack.ui_url)

    Args:
        root: the state directory: ``postgres/`` (the cluster) and ``temporal.db``.
        temporal_port: the Temporal frontend's port.
        ui_port: the Temporal web UI's port.
        database: the application database, created if missing.
        tables: the application's ``MetaData``, created if missing (Ember's own always are).
        seed: called once the tables exist, to insert demo rows (it decides whether
            the database already has them).

    Attributes:
        seeded: what ``seed`` reported inserting on this start (0 without one).
    """

    def __init__(
        self,
        root: Path | str = ".ember",
        *,
        temporal_port: int = 7233,
        ui_port: int = 8233,
        database: str = "ember",
        tables: Sequence[MetaData] = (),
        seed: SeedFunction | None = None,
    ) -> None:
        self.root = Path(root).resolve()
        self.temporal_port = temporal_port
        self.ui_port = ui_port
        self.database = database
        self.tables = list(tables)
        self.seed = seed
        self.seeded = 0
        self._postgres: LocalPostgres | None = None
        self._temporal: WorkflowEnvironment | None = None
        self._database_url: str | None = None

    @property
    def database_url(self) -> str:
        """SQLAlchemy URL of the application database (``postgresql+psycopg://``)."""
        if self._database_url is None:
            raise ServerError("expected a started DevStack; fix: use `async with DevStack()`")
        return self._database_url

    @property
    def temporal_address(self) -> str:
        """``host:port`` of the Temporal frontend."""
        return f"{HOST}:{self.temporal_port}"

    @property
    def temporal_log(self) -> Path:
        """The Temporal server's own log (kept out of the terminal)."""
        return self.root / "temporal.log"

    @property
    def ui_url(self) -> str:
        """Address of the Temporal web UI."""
        return f"http://{HOST}:{self.ui_port}"

    def workflows_url(self, query: str) -> str:
        """Address of the UI's workflow list filtered by the visibility ``query``."""
        return f"{self.ui_url}/namespaces/default/workflows?query={quote(query)}"

    @property
    def client(self) -> Client:
        """A Temporal client connected to the dev server (namespace ``default``)."""
        if self._temporal is None:
            raise ServerError("expected a started DevStack; fix: use `async with DevStack()`")
        return self._temporal.client

    def banner(self, settings: Settings, domain: Domain) -> str:
        """What ``dev`` prints once the stack is up: links, addresses and the ``export`` line
        other terminals need (``settings`` are the worker's, pointing at this stack)."""
        quoted = naming.visibility_literal
        runs = f"{self.ui_url}/namespaces/default/workflows?query="
        record_runs = quote(f"WorkflowType={quoted(naming.RECORD_WORKFLOW)}")
        not_succeeded = quote(not_succeeded_query(domain, settings.task_queue_prefix))
        signing = (
            "\n  (and EMBER_ACTOR_SIGNING_KEY, as set here)" if settings.actor_signing_key else ""
        )
        return (
            f"\nEmber dev stack is up (state in {self.root}):\n"
            f"  Temporal UI   {runs}{record_runs}\n"
            f"  not succeeded {runs}{not_succeeded}\n"
            f"  Temporal      {self.temporal_address} (server log: {self.temporal_log})\n"
            f"  PostgreSQL    {self.database_url}\n"
            f"  app           {settings.app} ({counted(domain.triggers, 'trigger')}, "
            f"{counted(domain.schedules, 'scheduled action')})\n"
            "For status, trigger run and schedules in another terminal:\n"
            f"  {export_line(settings)}{signing}\n"
            "Press Ctrl-C to stop.\n"
        )

    async def start(self) -> None:
        """Start both servers, create the tables and seed; undo everything on failure."""
        self.root.mkdir(parents=True, exist_ok=True)
        claim_root(self.root)
        try:
            ensure_port_free(self.temporal_port, "Temporal frontend", "--temporal-port")
            ensure_port_free(self.ui_port, "Temporal UI", "--ui-port")
            logger.info("starting PostgreSQL (data in %s)", self.root / "postgres")
            self._postgres = await asyncio.to_thread(
                LocalPostgres.start, self.root / "postgres", keep=True
            )
            self._database_url = await self._postgres.ensure_database(self.database)
            self.seeded = await self._prepare_database(self._database_url)
            logger.info("starting the Temporal dev server (state in %s)", self.root)
            self._temporal = await start_dev_server(
                database_file=self.root / "temporal.db",
                port=self.temporal_port,
                ui=True,
                ui_port=self.ui_port,
                log_file=self.temporal_log,
            )
        except BaseException:
            await self.stop()
            raise

    async def _prepare_database(self, url: str) -> int:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as connection:
                for metadata in self.tables:
                    await connection.run_sync(metadata.create_all)
            await create_ember_tables(engine)
            if self.seed is None:
                return 0
            async with AsyncSession(engine) as session:
                seeded = await self.seed(session) or 0
            if seeded:
                logger.info("seeded %d demo rows", seeded)
            return seeded
        finally:
            await engine.dispose()

    async def stop(self) -> None:
        """Stop Temporal, then PostgreSQL; safe to call twice."""
        temporal, self._temporal = self._temporal, None
        postgres, self._postgres = self._postgres, None
        try:
            if temporal is not None:
                await temporal.shutdown()
        finally:
            try:
                if postgres is not None:
                    await asyncio.to_thread(postgres.stop)
            finally:
                release_root(self.root)

    async def __aenter__(self) -> DevStack:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
