"""Fault 7: runs enqueued through the outbox while no worker runs are delivered once it starts.

``enqueue_trigger`` writes an ``ember_outbox`` row in the caller's transaction; the relay
in the worker starts the run after commit, at least once. A rolled-back enqueue delivers
nothing; a row delivered twice (enqueued twice, or redelivered after the relay's worker
was killed before deleting it) meets the same workflow id, and if that run already ended
the new one finds the record no longer matching: never a second effect.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import FromClause, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from ember.registry import enqueue_trigger
from ember.registry.tables import outbox
from tests.faults.ledger_app import FaultItem, LedgerEntry
from tests.faults.processes import WorkerProcess
from tests.faults.report import verify
from tests.faults.workload import (
    Workload,
    count_running,
    unique_config,
    until,
    worker_env,
)
from tests.integration.support import running


async def count(engine: AsyncEngine, table: FromClause) -> int:
    """Rows in ``table`` (the outbox or the ledger)."""
    async with engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(table)) or 0)


async def enqueue(
    engine: AsyncEngine, workload: Workload, keys: list[int], *, commit: bool
) -> None:
    """Enqueue a run for each of ``keys`` in one transaction, committed or rolled back."""
    async with AsyncSession(engine) as session:
        for key in keys:
            await enqueue_trigger(session, (FaultItem, key), workload.trigger)
        await (session.commit() if commit else session.rollback())


async def never_started(client: Client, workflow_id: str) -> bool:
    """True when Temporal has no run with this id (describe is strongly consistent)."""
    try:
        await client.get_workflow_handle(workflow_id).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return True
        raise
    return False


async def delivered(
    client: Client, engine: AsyncEngine, workload: Workload, effects: int, timeout: float
) -> None:
    """Wait until the outbox is empty, every expected effect committed and nothing runs."""

    async def done() -> bool:
        return (
            await count(engine, outbox) == 0
            and await count(engine, LedgerEntry.__table__) >= effects
            and await count_running(client, workload) == 0
        )

    await until(done, timeout=timeout, what="the outbox delivered and its runs ended")


async def test_outbox_rows_committed_while_no_worker_runs_are_delivered_after_it_starts(
    dev_env: WorkflowEnvironment, fault_database: str, fault_engine: AsyncEngine
) -> None:
    started = time.monotonic()
    workload = Workload.build(unique_config(max_attempts=1))
    committed, twice, rolled_back = list(range(1, 201)), list(range(1, 21)), list(range(201, 221))
    await workload.add(fault_engine, dict.fromkeys([*committed, *rolled_back], "ok"))
    client = dev_env.client

    await enqueue(fault_engine, workload, committed, commit=True)
    await enqueue(fault_engine, workload, twice, commit=True)
    await enqueue(fault_engine, workload, rolled_back, commit=False)
    assert await count(fault_engine, outbox) == len(committed) + len(twice)
    for key in (1, 100, 200, 201):
        assert await never_started(client, workload.workflow_id(key))

    async with running(workload.domain, dev_env, fault_database):
        await delivered(client, fault_engine, workload, len(committed), timeout=60)
    for key in rolled_back:
        assert await never_started(client, workload.workflow_id(key))
    effects: dict[int, str | None] = {key: "action" for key in committed}
    effects.update(dict.fromkeys(rolled_back, None))
    await verify(
        client,
        fault_engine,
        workload,
        test="outbox (no worker at commit)",
        faults="200 enqueued with no worker, 20 of them twice, 20 rolled back",
        started=started,
        effects=effects,
        outcomes={key: "succeeded" for key in committed},
    )


@pytest.mark.faults
@pytest.mark.timeout(900)
async def test_outbox_relay_killed_mid_delivery_redelivers_without_double_effects(
    dev_env: WorkflowEnvironment, fault_database: str, fault_engine: AsyncEngine, worker_log: Path
) -> None:
    started = time.monotonic()
    records = 1500
    config = unique_config(max_attempts=3, timeout_seconds=8)
    workload = Workload.build(config)
    keys = list(range(1, records + 1))
    await workload.add(fault_engine, dict.fromkeys(keys, "ok"))
    for start in range(0, records, 500):  # many application transactions
        await enqueue(fault_engine, workload, keys[start : start + 500], commit=True)
    client = dev_env.client
    env = worker_env(config, fault_database, client.service_client.config.target_host)
    worker = WorkerProcess(env, worker_log)
    try:
        await worker.start()

        async def half_delivered() -> bool:
            return await count(fault_engine, outbox) <= records / 2

        await until(half_delivered, timeout=300, what="half the outbox delivered", every=0.1)
        await worker.kill()
        left_at_kill = await count(fault_engine, outbox)
        await worker.start()
        await delivered(client, fault_engine, workload, records, timeout=600)
    finally:
        await worker.kill()
    await verify(
        client,
        fault_engine,
        workload,
        test="outbox relay SIGKILL",
        faults=f"SIGKILL with {left_at_kill} of {records} outbox rows undelivered",
        started=started,
        effects=dict.fromkeys(keys, "action"),
        outcomes=dict.fromkeys(keys, "succeeded"),
    )
