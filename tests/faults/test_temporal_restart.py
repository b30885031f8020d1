"""Fault 2: the Temporal server stops and comes back (same SQLite file, same port) mid-run.

What Ember guarantees here: Temporal keeps every scan and record run in its database,
so nothing is forgotten across the restart. The worker process keeps running while the
frontend is away: the SDK retries its polls with backoff and resumes when the server
answers again (no restart of the worker is needed). An activity that finished while the
server was away may never report; Temporal then retries it after its timeout (plus 30 s
of grace), without using an attempt, and the retry re-checks ``where`` under the row
lock, so an action that committed is not repeated (it ends ``cancelled``), and one that
did not is run again. With ``max_attempts=1`` no healthy record reaches on_error.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from ember.workflows.client import TriggerClient
from ember.workflows.testing.devstack import free_port
from ember.workflows.testing.servers import start_dev_server
from tests.faults.ledger_app import LedgerEntry
from tests.faults.processes import WorkerProcess
from tests.faults.report import verify
from tests.faults.workload import (
    Workload,
    plan_items,
    settle,
    unique_config,
    until,
    worker_env,
)

RECORDS = 1000
WEIGHTS = {"ok": 95, "poison": 3, "cancel": 2}
DOWNTIME = 8.0


async def ledger_rows(engine: AsyncEngine) -> int:
    """Effects committed so far."""
    async with engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(LedgerEntry)) or 0)


@pytest.mark.faults
@pytest.mark.timeout(900)
async def test_temporal_restarts_mid_run_and_the_same_worker_carries_on(
    tmp_path: Path, fault_database: str, fault_engine: AsyncEngine, worker_log: Path
) -> None:
    started = time.monotonic()
    database_file, port = tmp_path / "temporal.sqlite", free_port()
    config = unique_config(max_attempts=1, timeout_seconds=10, action_seconds=0.01)
    workload = Workload.build(config)
    await workload.add(fault_engine, plan_items(RECORDS, WEIGHTS))
    env = worker_env(config, fault_database, f"127.0.0.1:{port}")
    worker = WorkerProcess(env, worker_log)
    server = await start_dev_server(database_file=database_file, port=port)
    up: WorkflowEnvironment | None = server
    try:
        await worker.start()
        await TriggerClient(server.client, workload.domain).start_scan(workload.trigger)
        await until(
            lambda: _at_least(fault_engine, RECORDS * 0.3), timeout=300, what="30% acted on"
        )

        await server.shutdown()
        up = None
        acted_at_stop = await ledger_rows(fault_engine)
        await asyncio.sleep(DOWNTIME)
        acted_while_down = await ledger_rows(fault_engine) - acted_at_stop
        assert worker.running, "the worker exited while Temporal was away"
        server = up = await start_dev_server(database_file=database_file, port=port)

        rescans = await settle(
            server.client, fault_engine, workload, timeout=600, tolerate=(RPCError,)
        )
        assert worker.running
        assert worker.starts == 1  # the same worker process finished the work
        result = await verify(
            server.client,
            fault_engine,
            workload,
            test="Temporal restart",
            faults=f"dev server stopped {DOWNTIME:g}s after {acted_at_stop} effects, restarted",
            started=started,
            notes=(
                f"{acted_while_down} actions committed while Temporal was away; "
                f"follow-up scans: {rescans}"
            ),
        )
        assert result.compensated == 0  # on_error ran for the poison records only
    finally:
        await worker.kill()
        if up is not None:
            await up.shutdown()


async def _at_least(engine: AsyncEngine, count: float) -> bool:
    return await ledger_rows(engine) >= count
