"""Fault 1: the worker process is SIGKILLed mid-scan and mid-actions; a new one finishes.

What Ember guarantees here: a killed worker's scan page is retried after the page
heartbeat timeout (15 s) and joins the runs it already started (deterministic ids,
USE_EXISTING); a killed action's transaction never committed, so it is run again after
the trigger's ``timeout`` plus 30 s of grace, without using an attempt (the crash is not
the record's fault): with ``max_attempts=1`` no healthy record reaches on_error. An
action that committed just before the kill is not repeated: its retry re-checks
``where`` under the row lock and ends ``cancelled``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from ember.workflows.client import TriggerClient
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

RECORDS = 2000
JUST_STARTED = timedelta(seconds=0.3)  # a page of BATCH starts takes seconds
BATCH = 250
WEIGHTS = {"ok": 95, "poison": 3, "cancel": 2}


async def ledger_rows(engine: AsyncEngine) -> int:
    """Effects committed so far."""
    async with engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(LedgerEntry)) or 0)


async def mid_scan(scan: WorkflowHandle[Any, Any], engine: AsyncEngine) -> bool:
    """A scan page began dispatching just now (far from its end), and runs are acting."""
    description = await scan.describe()
    now = datetime.now(UTC)
    page_just_started = any(
        activity.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
        and now - activity.last_started_time.ToDatetime(UTC) < JUST_STARTED
        for activity in description.raw_description.pending_activities
    )
    return page_just_started and await ledger_rows(engine) > 0


async def retried_pages(scan: WorkflowHandle[Any, Any]) -> int:
    """Scan pages that needed a second attempt (the first one's worker was killed)."""
    history = await scan.fetch_history()
    started = EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    return sum(
        1
        for event in history.events
        if event.event_type == started and event.activity_task_started_event_attributes.attempt > 1
    )


@pytest.mark.faults
@pytest.mark.timeout(900)
async def test_sigkill_mid_scan_and_mid_actions_then_a_new_worker_finishes(
    dev_env: WorkflowEnvironment, fault_database: str, fault_engine: AsyncEngine, worker_log: Path
) -> None:
    started = time.monotonic()
    config = unique_config(
        max_attempts=1, timeout_seconds=15, action_seconds=0.02, batch_size=BATCH
    )
    workload = Workload.build(config)
    await workload.add(fault_engine, plan_items(RECORDS, WEIGHTS))
    client = dev_env.client
    env = worker_env(config, fault_database, client.service_client.config.target_host)
    worker = WorkerProcess(env, worker_log)
    ember = TriggerClient(client, workload.domain)
    try:
        await worker.start()
        scan = await ember.start_scan(workload.trigger)

        # Kill 1: while a scan page is dispatching and the first runs are acting.
        await until(lambda: mid_scan(scan, fault_engine), timeout=60, what="mid-scan", every=0.05)
        await worker.kill()
        acted_at_kill_1 = await ledger_rows(fault_engine)
        assert acted_at_kill_1 < RECORDS / 2
        await worker.start()

        # Kill 2: in the middle of the actions.
        await until(
            lambda: _at_least(fault_engine, RECORDS * 0.6),
            timeout=300,
            what="60% of the records acted on",
        )
        await worker.kill()
        acted_at_kill_2 = await ledger_rows(fault_engine)
        await worker.start()

        rescans = await settle(client, fault_engine, workload, timeout=600)
        # The scan ended well; its retried page re-read only the rows still matching.
        assert (await scan.result()).dispatched > 0
        assert await retried_pages(scan) >= 1  # the first kill hit a page mid-dispatch
    finally:
        await worker.kill()
    result = await verify(
        client,
        fault_engine,
        workload,
        test="worker SIGKILL",
        faults="SIGKILL mid-scan-page, SIGKILL mid-actions, 3 worker starts",
        started=started,
        notes=(
            f"ledger rows at kills: {acted_at_kill_1}, {acted_at_kill_2}; "
            f"follow-up scans: {rescans}"
        ),
    )
    assert result.compensated == 0  # on_error ran for the poison records only


async def _at_least(engine: AsyncEngine, count: float) -> bool:
    return await ledger_rows(engine) >= count
