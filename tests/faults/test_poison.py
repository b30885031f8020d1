"""Fault 5: a poison record fails every attempt; on_error runs once; the batch is unaffected."""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from activities.types import Outcome
from tests.faults.ledger_app import LedgerEntry
from tests.faults.report import verify
from tests.faults.workload import Workload, unique_config
from tests.integration.support import running

RECORDS = 300
POISON = 150


async def test_a_poison_record_runs_on_error_once_and_the_rest_succeed_first_time(
    dev_env: WorkflowEnvironment, fault_database: str, fault_engine: AsyncEngine
) -> None:
    started = time.monotonic()
    config = unique_config(max_attempts=3, backoff_seconds=0.2, timeout_seconds=30)
    workload = Workload.build(config)
    plans = {key: "ok" for key in range(1, RECORDS + 1)} | {POISON: "poison"}
    await workload.add(fault_engine, plans)
    async with running(workload.domain, dev_env, fault_database) as ember:
        summary = await ember.schedule_and_run_triggers(workload.trigger, timeout=120)
    assert (summary.succeeded, summary.failed, summary.unfinished) == (RECORDS - 1, 1, 0)

    poison = dev_env.client.get_workflow_handle(workload.workflow_id(POISON), result_type=Outcome)
    outcome = await poison.result()
    assert (outcome.status, outcome.attempts) == ("errored_handled", 3)
    assert outcome.error is not None and "poison item" in outcome.error.message
    async with fault_engine.connect() as connection:
        entries = (
            await connection.execute(
                select(LedgerEntry.item_id, LedgerEntry.kind, LedgerEntry.attempt)
            )
        ).all()
    assert [(kind, attempt) for key, kind, attempt in entries if key == POISON] == [("on_error", 3)]
    others = sorted((key, kind) for key, kind, _ in entries if key != POISON)
    assert others == [(key, "action") for key in range(1, RECORDS + 1) if key != POISON]
    retried = sum(1 for key, _, attempt in entries if key != POISON and attempt > 1)
    await verify(
        dev_env.client,
        fault_engine,
        workload,
        test="poison record",
        faults="1 record failing all 3 attempts among 300",
        started=started,
        notes=f"other records needing a retry (slow machine, not the poison): {retried}",
    )
