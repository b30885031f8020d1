"""Fault 5: a poison record fails every attempt; on_error runs once; the batch is unaffected."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from ember.activities.types import Outcome
from tests.faults.ledger_app import LedgerEntry
from tests.faults.report import verify
from tests.faults.workload import Workload, unique_config
from tests.integration.support import running

SIZES = [
    pytest.param(300, id="300"),
    pytest.param(2000, id="2000", marks=[pytest.mark.faults, pytest.mark.timeout(600)]),
]


@pytest.mark.parametrize("records", SIZES)
async def test_a_poison_record_runs_on_error_once_and_the_rest_succeed_first_time(
    records: int, dev_env: WorkflowEnvironment, fault_database: str, fault_engine: AsyncEngine
) -> None:
    started = time.monotonic()
    poison_key = records // 2
    config = unique_config(max_attempts=3, backoff_seconds=0.2, timeout_seconds=30)
    workload = Workload.build(config)
    plans = {key: "ok" for key in range(1, records + 1)} | {poison_key: "poison"}
    await workload.add(fault_engine, plans)
    async with running(workload.domain, dev_env, fault_database) as ember:
        summary = await ember.schedule_and_run_triggers(workload.trigger, timeout=records * 0.4)
    assert (summary.succeeded, summary.failed, summary.unfinished) == (records - 1, 1, 0)

    poison = dev_env.client.get_workflow_handle(
        workload.workflow_id(poison_key), result_type=Outcome
    )
    outcome = await poison.result()
    assert (outcome.status, outcome.attempts) == ("errored_handled", 3)
    assert outcome.error is not None and "poison item" in outcome.error.message
    async with fault_engine.connect() as connection:
        entries = (
            await connection.execute(
                select(LedgerEntry.item_id, LedgerEntry.kind, LedgerEntry.attempt)
            )
        ).all()
    assert [(kind, attempt) for key, kind, attempt in entries if key == poison_key] == [
        ("on_error", 3)
    ]
    others = sorted((key, kind) for key, kind, _ in entries if key != poison_key)
    assert others == [(key, "action") for key in range(1, records + 1) if key != poison_key]
    retried = sum(1 for key, _, attempt in entries if key != poison_key and attempt > 1)
    await verify(
        dev_env.client,
        fault_engine,
        workload,
        test="poison record",
        faults=f"1 record failing all 3 attempts among {records}",
        started=started,
        notes=f"other records needing a retry (slow machine, not the poison): {retried}",
    )
