"""Fault 8: a soak — many records with random failures, snoozes, cancels and discards.

Each record's behaviour is a seeded hash of its key (``plan_for``), so the final tally is
known before the run: the per-record outcomes must equal it exactly, and the ledger must
hold exactly one effect for every record whose plan has one.

The soak uses ``chunk_size`` (one workflow per 100 records, each record still locked,
re-checked and committed in its own transaction, with its own attempts, snoozes, on_error
and outcome): with one workflow per record this 2-core machine does ~13-25 records/s
(the Temporal dev server and the worker share the cores), so 100,000 would take hours.
Chunk mode does ~140 records/s here with two worker processes. ``EMBER_SOAK_RECORDS``
(and ``_WORKERS``, ``_CONCURRENCY``, ``_CHUNK``) scale it; the default is the largest
that fits the 20-minute budget of ``make test-faults`` next to the other fault tests.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from ember.workflows.client import TriggerClient
from tests.faults.ledger_app import PLANS
from tests.faults.processes import WorkerProcess
from tests.faults.report import report
from tests.faults.workload import (
    Workload,
    check_chunk_runs,
    check_ledger,
    plan_items,
    settle,
    unique_config,
    worker_env,
)

RECORDS = int(os.environ.get("EMBER_SOAK_RECORDS", "35000"))
WORKERS = int(os.environ.get("EMBER_SOAK_WORKERS", "2"))
CONCURRENCY = int(os.environ.get("EMBER_SOAK_CONCURRENCY", "4"))
CHUNK = int(os.environ.get("EMBER_SOAK_CHUNK", "100"))
BUDGET = float(os.environ.get("EMBER_SOAK_BUDGET_SECONDS", "780"))
WEIGHTS = {"ok": 80, "flaky": 8, "snooze": 4, "cancel": 4, "poison": 2, "discard": 2}
SEED = 20261123


@pytest.mark.faults
@pytest.mark.timeout(BUDGET + 300)
async def test_soak_final_tally_equals_the_planned_one(
    dev_env: WorkflowEnvironment, fault_database: str, fault_engine: AsyncEngine, tmp_path: Path
) -> None:
    started = time.monotonic()
    config = unique_config(
        chunk_size=CHUNK, max_attempts=3, backoff_seconds=0.5, snooze_seconds=0.5
    )
    workload = Workload.build(config)
    await workload.add(fault_engine, plan_items(RECORDS, WEIGHTS, seed=SEED))
    planned = Counter(PLANS[plan][0] for plan in workload.plans.values())
    client = dev_env.client
    env = worker_env(
        config, fault_database, client.service_client.config.target_host, concurrency=CONCURRENCY
    )
    workers = [WorkerProcess(env, tmp_path / f"worker-{n}.log") for n in range(WORKERS)]
    try:
        await asyncio.gather(*(worker.start() for worker in workers))
        scan_started = time.monotonic()
        await TriggerClient(client, workload.domain).start_scan(workload.trigger)
        rescans = await settle(client, fault_engine, workload, timeout=BUDGET, every=2.0)
        processing = time.monotonic() - scan_started
    finally:
        await asyncio.gather(*(worker.kill() for worker in workers))

    ledger = await check_ledger(fault_engine, workload.expected_effects())
    chunks = await check_chunk_runs(client, workload)
    report(
        "soak",
        faults=f"seeded plans {WEIGHTS}; chunk_size={CHUNK}, {WORKERS} workers x {CONCURRENCY}",
        ledger=ledger,
        runs=None,
        seconds=time.monotonic() - started,
        run_count=chunks.chunks,
        outcomes=dict(chunks.tally),
        notes=(
            f"{RECORDS / processing:.0f} records/s from scan to last outcome; "
            f"follow-up scans: {rescans}"
        ),
    )
    ledger.assert_exact()
    assert not chunks.unended, chunks.unended[:20]
    assert chunks.tally == planned
    expected = workload.expected_outcomes()
    wrong = {key: found for key, found in chunks.outcomes.items() if found != expected[key]}
    assert not wrong, list(wrong.items())[:20]
    assert len(chunks.outcomes) == RECORDS
