"""Fault 3: PostgreSQL restarts mid-run, a pool of one connection, a statement timeout.

What Ember guarantees here: an attempt that cannot reach the database (refused, reset,
shutting down, starting up) rolled back, so nothing was half done; it is an outage, not
the action's failure, so it is retried without using an attempt and never runs on_error:
with ``max_attempts=1`` every record of a 5 s restart succeeds. The pool reconnects
after a restart (``pool_pre_ping``). A scan page that failed for good leaves its rows
matching, so the next scheduled scan dispatches them. With fewer connections than
activity slots, activities wait for a connection, and the wait is no part of an attempt.
A statement timeout inside an action is the action's failure: it uses an attempt, is
retried and ends per ``max_attempts`` (on_error once), and the rest of the batch is
unaffected.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool
from temporalio.testing import WorkflowEnvironment

from ember.activities.types import Outcome
from ember.workflows.client import TriggerClient
from ember.workflows.testing.servers import LocalPostgres
from tests.faults.ledger_app import LedgerEntry
from tests.faults.processes import WorkerProcess
from tests.faults.report import verify
from tests.faults.workload import (
    Workload,
    create_fault_database,
    plan_items,
    settle,
    unique_config,
    until,
    worker_env,
)

WORKER_APP_NAME = "ember-fault-worker"
DB_ERRORS = (DBAPIError, OSError)


def tagged(url: str) -> str:
    """``url`` with the worker's application_name, to find its connections."""
    return f"{url}&application_name={WORKER_APP_NAME}"


async def ledger_rows(engine: AsyncEngine) -> int:
    """Effects committed so far."""
    async with engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(LedgerEntry)) or 0)


@pytest.mark.faults
@pytest.mark.timeout(900)
async def test_postgres_restarts_mid_run_and_nothing_is_lost_or_doubled(
    dev_env: WorkflowEnvironment, worker_log: Path
) -> None:
    started = time.monotonic()
    records, downtime = 1000, 5.0
    data_dir = Path(tempfile.mkdtemp(prefix="ember-faults-pg-")) / "data"
    server = LocalPostgres.start(data_dir, keep=True)
    engine: AsyncEngine | None = None
    worker: WorkerProcess | None = None
    try:
        url = await create_fault_database(server, "faults")
        engine = create_async_engine(url, pool_pre_ping=True)
        config = unique_config(max_attempts=1, action_seconds=0.01)
        workload = Workload.build(config)
        await workload.add(engine, plan_items(records, {"ok": 1}))
        client = dev_env.client
        env = worker_env(config, url, client.service_client.config.target_host)
        worker = WorkerProcess(env, worker_log)
        await worker.start()
        await TriggerClient(client, workload.domain).start_scan(workload.trigger)
        await until(lambda: _at_least(engine, records * 0.3), timeout=300, what="30% acted on")

        acted_at_stop = await ledger_rows(engine)
        server.stop()
        await asyncio.sleep(downtime)
        server = LocalPostgres.start(data_dir, keep=True)
        assert server.url("faults") == url  # same socket, same URL: the worker reconnects
        assert worker.running

        rescans = await settle(client, engine, workload, timeout=600, tolerate=DB_ERRORS)
        assert worker.running and worker.starts == 1
        result = await verify(
            client,
            engine,
            workload,
            test="PostgreSQL restart",
            faults=f"pg_ctl stop after ~30% acted, {downtime:g}s down, start (same worker)",
            started=started,
            notes=f"effects before stop: {acted_at_stop}; follow-up scans: {rescans}",
        )
        # Every record succeeded (or its success was re-checked), none went to on_error.
        assert set(result.outcomes) <= {"succeeded", "cancelled"}, result.outcomes
        assert result.outcomes.get("cancelled", 0) <= result.rechecked
        assert result.compensated == 0
    finally:
        if worker is not None:
            await worker.kill()
        if engine is not None:
            await engine.dispose()
        server.stop()
        shutil.rmtree(data_dir.parent, ignore_errors=True)


async def _at_least(engine: AsyncEngine, count: float) -> bool:
    return await ledger_rows(engine) >= count


async def peak_connections(url: str, stop: asyncio.Event) -> int:
    """Sample the worker's open connections until ``stop``; the most seen at once."""
    sampler = create_async_engine(url, poolclass=NullPool)
    peak = 0
    try:
        async with sampler.connect() as connection:
            while not stop.is_set():
                count = await connection.scalar(
                    text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"),
                    {"name": WORKER_APP_NAME},
                )
                peak = max(peak, int(count or 0))
                await connection.rollback()  # activity views are snapshotted per transaction
                await asyncio.sleep(0.02)
    finally:
        await sampler.dispose()
    return peak


# The small sizes run in `make test` too (on a busy machine as well); `make test-faults`
# adds the 1,000-record runs.
SIZES = [300, pytest.param(1000, id="1000", marks=pytest.mark.faults)]


@pytest.mark.parametrize("records", SIZES)
async def test_a_pool_of_one_connection_with_ten_activity_slots_loses_nothing(
    dev_env: WorkflowEnvironment,
    fault_database: str,
    fault_engine: AsyncEngine,
    worker_log: Path,
    records: int,
) -> None:
    started = time.monotonic()
    config = unique_config(max_attempts=1, action_seconds=0.02)
    workload = Workload.build(config)
    await workload.add(fault_engine, plan_items(records, {"ok": 1}))
    client = dev_env.client
    env = worker_env(
        config,
        tagged(fault_database),
        client.service_client.config.target_host,
        concurrency=10,
        database_pool_size="1",
    )
    stop = asyncio.Event()
    sampling = asyncio.ensure_future(peak_connections(fault_database, stop))
    try:
        async with WorkerProcess(env, worker_log):
            await TriggerClient(client, workload.domain).start_scan(workload.trigger)
            await settle(client, fault_engine, workload, timeout=400)
    finally:
        stop.set()
        peak = await sampling
    # pool_size=1 plus max_overflow=1: at most two connections, whatever the concurrency.
    assert 1 <= peak <= 2
    await verify(
        client,
        fault_engine,
        workload,
        test="pool exhaustion",
        faults="EMBER_DATABASE_POOL_SIZE=1 with 10 activity slots, max_attempts=1",
        started=started,
        notes=f"peak worker connections {peak}",
    )


@pytest.mark.parametrize("records", SIZES)
async def test_a_statement_timeout_in_an_action_is_retried_and_fails_cleanly(
    dev_env: WorkflowEnvironment,
    fault_database: str,
    fault_engine: AsyncEngine,
    worker_log: Path,
    records: int,
) -> None:
    started = time.monotonic()
    config = unique_config(max_attempts=3, backoff_seconds=0.2, statement_timeout_ms=50)
    workload = Workload.build(config)
    plans = plan_items(records, {"ok": 70, "slow_sql": 20, "slow_sql_always": 10})
    await workload.add(fault_engine, plans)
    client = dev_env.client
    env = worker_env(config, fault_database, client.service_client.config.target_host)
    async with WorkerProcess(env, worker_log):
        await TriggerClient(client, workload.domain).start_scan(workload.trigger)
        await settle(client, fault_engine, workload, timeout=400)
    for key, plan in plans.items():
        if plan == "ok":
            continue
        handle = client.get_workflow_handle(workload.workflow_id(key), result_type=Outcome)
        outcome = await handle.result()
        if plan == "slow_sql":  # timed out once, then succeeded on its second attempt
            assert (outcome.status, outcome.attempts) == ("succeeded", 2), (key, outcome)
        else:  # timed out on every attempt: failed per max_attempts, on_error ran
            assert (outcome.status, outcome.attempts) == ("errored_handled", 3), (key, outcome)
            assert outcome.error is not None
            assert "statement timeout" in outcome.error.message, outcome.error
    async with fault_engine.connect() as connection:
        attempts = dict(
            (
                await connection.execute(
                    select(LedgerEntry.item_id, LedgerEntry.attempt).where(
                        LedgerEntry.kind == "action"
                    )
                )
            ).all()
        )
    for key, plan in plans.items():
        if plan != "slow_sql_always":
            assert attempts[key] == (2 if plan == "slow_sql" else 1), (key, plan)
    await verify(
        client,
        fault_engine,
        workload,
        test="statement timeout",
        faults="SET LOCAL statement_timeout=50ms + pg_sleep(5) in 30% of actions",
        started=started,
    )
