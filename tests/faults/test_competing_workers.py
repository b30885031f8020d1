"""Fault 4: two worker processes on the same queues, and three dispatchers racing for each row.

Two drains (each its own scan) and a bulk ``run_triggers`` start runs for the same
records at the same time while two workers take tasks from the same queues. Runs meet on
the deterministic workflow id; a run started after another already acted finds the
record no longer matching under the row lock. Every record is acted on exactly once, and
both workers do part of the work.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from ember.workflows.client import TriggerClient
from tests.faults.ledger_app import FaultItem, LedgerEntry
from tests.faults.processes import WorkerProcess
from tests.faults.report import verify
from tests.faults.workload import Workload, plan_items, settle, unique_config, worker_env


@pytest.mark.parametrize(
    "records",
    [
        pytest.param(300, id="300"),
        pytest.param(1500, id="1500", marks=[pytest.mark.faults, pytest.mark.timeout(900)]),
    ],
)
async def test_two_workers_and_three_dispatchers_act_on_each_record_once(
    records: int,
    dev_env: WorkflowEnvironment,
    fault_database: str,
    fault_engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    config = unique_config(max_attempts=3, backoff_seconds=0.2, batch_size=100)
    workload = Workload.build(config)
    await workload.add(fault_engine, plan_items(records, {"ok": 95, "flaky": 5}))
    client = dev_env.client
    env = worker_env(config, fault_database, client.service_client.config.target_host)
    workers = [WorkerProcess(env, tmp_path / f"worker-{n}.log") for n in (1, 2)]
    ember = TriggerClient(client, workload.domain)
    try:
        await asyncio.gather(*(worker.start() for worker in workers))
        first, second, direct = await asyncio.gather(
            ember.schedule_and_run_triggers(workload.trigger, timeout=600),
            ember.schedule_and_run_triggers(workload.trigger, timeout=600),
            ember.run_triggers(((FaultItem, key) for key in workload.plans), workload.trigger),
        )
        rescans = await settle(client, fault_engine, workload, timeout=600)
        assert all(worker.running for worker in workers)
    finally:
        await asyncio.gather(*(worker.kill() for worker in workers))
    assert first.unfinished == second.unfinished == 0
    assert len(direct) == records
    async with fault_engine.connect() as connection:
        pids = await connection.scalar(select(func.count(distinct(LedgerEntry.worker_pid))))
    assert pids == 2, "both workers should have acted on some records"
    await verify(
        client,
        fault_engine,
        workload,
        test=f"competing workers ({records})",
        faults="2 workers on one queue; 2 drains + 1 bulk run_triggers racing",
        started=started,
        notes=(
            f"drain 1 saw {first.total} runs, drain 2 {second.total}, "
            f"bulk started/joined {len(direct)}; follow-up scans: {rescans}"
        ),
    )
