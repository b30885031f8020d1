"""Fault 6: rows change while the scan and its runs are under way.

The scan dispatches far ahead of the actions (narrow queue, slow actions), so most
changed rows already have a run waiting when they change:

- rows updated to stop matching: their runs end ``cancelled`` (trigger no longer applies),
  the action never runs;
- rows deleted: the same;
- rows inserted ahead of the scan's cursor are picked up by this scan; rows inserted
  behind it are left for the next scan; none is run twice.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from ember.activities.run_results import RunHandle
from ember.activities.types import NO_LONGER_APPLIES, Outcome
from ember.workflows.client import TriggerClient
from tests.faults.ledger_app import PENDING, FaultItem, LedgerEntry
from tests.faults.report import verify
from tests.faults.workload import Workload, settle, unique_config, until, wait_settled
from tests.integration.support import running

SIZES = [
    pytest.param(300, id="300"),
    pytest.param(2000, id="2000", marks=[pytest.mark.faults, pytest.mark.timeout(600)]),
]


def layout(rows: int) -> tuple[range, range, range]:
    """Original rows (even ids), rows to insert behind the cursor (odd ids among the first
    third, which the scan has passed) and ahead of it (beyond every original row)."""
    original = range(2, 2 * rows + 2, 2)
    behind = range(1, 2 * rows // 3, 2 * (rows // 30))  # an even step keeps the ids odd
    ahead = range(2 * rows + 101, 2 * rows + 121)
    return original, behind, ahead


async def last_outcome(client: Client, workflow_id: str) -> Outcome | None:
    """The record run's outcome, or None when no run was ever started."""
    handle = RunHandle(client, workflow_id, result_type=Outcome)
    try:
        outcome: Outcome = await handle.result()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return outcome


async def acted(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(LedgerEntry)) or 0)


@pytest.mark.parametrize("rows", SIZES)
async def test_rows_updated_deleted_and_inserted_under_a_scan(
    rows: int, dev_env: WorkflowEnvironment, fault_database: str, fault_engine: AsyncEngine
) -> None:
    started = time.monotonic()
    original, behind, ahead = layout(rows)
    config = unique_config(max_attempts=1, action_seconds=0.05, batch_size=50)
    workload = Workload.build(config)
    await workload.add(fault_engine, dict.fromkeys(original, "ok"))
    client = dev_env.client
    async with running(workload.domain, dev_env, fault_database, queues={"fault_items": 2}):
        scan = await TriggerClient(client, workload.domain).start_scan(workload.trigger)

        async def well_under_way() -> bool:
            return await acted(fault_engine) >= 10

        await until(well_under_way, timeout=60, what="10 records acted on", every=0.05)
        async with fault_engine.begin() as connection:
            stopped = set(
                (
                    await connection.execute(
                        update(FaultItem)
                        .where(FaultItem.status == PENDING, FaultItem.id % 10 == 2)
                        .values(status="skipped")
                        .returning(FaultItem.id)
                    )
                ).scalars()
            )
            deleted = set(
                (
                    await connection.execute(
                        delete(FaultItem)
                        .where(FaultItem.status == PENDING, FaultItem.id % 10 == 4)
                        .returning(FaultItem.id)
                    )
                ).scalars()
            )
        # Inserted after the scan passed the first rows (its first page is long done).
        await workload.add(fault_engine, dict.fromkeys([*behind, *ahead], "ok"))
        await scan.result()
        await wait_settled(client, fault_engine, workload, timeout=rows * 0.4, rows=False)
        first_scan = await acted(fault_engine)
        inserted = [*behind, *ahead]
        picked_up = [
            key for key in inserted if await last_outcome(client, workload.workflow_id(key))
        ]

        # The next scan: whatever still matches (the rows inserted behind the cursor).
        await (await TriggerClient(client, workload.domain).start_scan(workload.trigger)).result()
        await settle(client, fault_engine, workload, timeout=rows * 0.4)

    assert stopped and deleted
    cancelled = 0
    for key in sorted(stopped | deleted):
        outcome = await last_outcome(client, workload.workflow_id(key))
        if outcome is not None:  # dispatched before the change: the re-check cancelled it
            assert (outcome.status, outcome.reason) == ("cancelled", NO_LONGER_APPLIES), key
            cancelled += 1
    assert cancelled > 0, "no changed row had a run waiting: the scan was not ahead"
    assert set(behind) - set(picked_up), "every row behind the cursor was picked up at once"
    effects: dict[int, str | None] = dict.fromkeys(workload.plans, "action")
    effects.update(dict.fromkeys(stopped | deleted, None))
    outcomes = {key: "succeeded" for key, kind in effects.items() if kind is not None}
    await verify(
        client,
        fault_engine,
        workload,
        test="rows changing under the scan",
        faults=(
            f"{len(stopped)} updated to stop matching, {len(deleted)} deleted, "
            f"{len(inserted)} inserted mid-scan"
        ),
        started=started,
        effects=effects,
        outcomes=outcomes,
        notes=(
            f"{cancelled} changed rows' runs cancelled by the re-check; inserted rows picked "
            f"up by the same scan {len(picked_up)}, by the next {len(inserted) - len(picked_up)}; "
            f"effects after scan 1: {first_scan}"
        ),
    )
