"""Waiting for record runs to end, and counting their outcomes (the drain of tests)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import CancelledError, TerminatedError

from ember.activities.run_ids import chunk_run_id
from ember.activities.run_results import RunHandle
from ember.activities.scan_types import COLLECT_LIMIT, ScanSummary
from ember.activities.types import ChunkOutcome, Outcome, ScheduledOutcome
from ember.registry import EmberError, Trigger, naming

POLL = 0.2
# At most this many result long-polls at once (the server caps concurrent long-polls per
# namespace, ~1200 on the dev server); each gives its slot up after ROTATE seconds so
# runs still going cannot keep finished ones waiting.
RESULT_CONCURRENCY = 100
ROTATE = 5.0
QUERY_BATCH = 50
COUNTED_AS = {
    "succeeded": "succeeded",
    "failed": "failed",
    "errored_handled": "failed",
    "discarded": "discarded",
    "cancelled": "cancelled",
    "snoozed": "snoozed",
}


class DrainTooLarge(EmberError, RuntimeError):
    """A drain's scan started more runs than one drain can wait for."""


@dataclass(frozen=True)
class TriggerRunSummary:
    """Outcome counts of the record runs a drain waited for.

    ``failed`` includes runs whose on_error compensated (``errored_handled``);
    ``snoozed`` counts runs still snoozing when every other run had ended;
    ``unfinished`` those still running at the timeout. ``skipped`` counts rows
    that matched but could have no run (their run id is over Temporal's
    limit); they are not runs, so not in ``total``.
    """

    succeeded: int = 0
    failed: int = 0
    discarded: int = 0
    cancelled: int = 0
    snoozed: int = 0
    unfinished: int = 0
    skipped: int = 0

    @property
    def total(self) -> int:
        """Every run counted."""
        runs: int = sum(vars(self).values())
        return runs - self.skipped


def outcomes_of(result: Outcome | ChunkOutcome | ScheduledOutcome) -> list[Outcome]:
    """The outcomes in a record run's, a chunk run's or a scheduled action run's result."""
    if isinstance(result, ChunkOutcome | ScheduledOutcome):
        return list(result.outcomes.values())
    return [result]


def scan_handles(
    client: Client, trigger: Trigger, summary: ScanSummary, prefix: str
) -> list[WorkflowHandle[Any, Any]]:
    """Handles of the record and chunk runs a drain's scan started (their ``result()``
    is the outcome also for runs that ended Failed).

    Raises:
        DrainTooLarge: the scan started more runs than it could name.
    """
    if summary.collected.overflowed:
        raise DrainTooLarge(
            f"schedule_and_run_triggers: expected a scan whose run ids fit in one "
            f"Temporal payload ({COLLECT_LIMIT} bytes of keys), found {trigger.path} "
            f"starting {summary.dispatched} runs; they run on, but cannot all be "
            "waited for; fix: drain fewer records at once (tenant=..., or the "
            "trigger's record_limit)"
        )
    handles: list[WorkflowHandle[Any, Any]] = []
    for runs in summary.collected.tenants:
        handles += [
            RunHandle(client, trigger.workflow_id(runs.tenant, key, prefix), result_type=Outcome)
            for key in runs.records
        ]
        handles += [
            RunHandle(
                client,
                chunk_run_id(trigger, runs.tenant, first, last, prefix),
                result_type=ChunkOutcome,
            )
            for first, last in runs.chunks
        ]
    return handles


def ended_without_outcome(error: WorkflowFailureError) -> Outcome:
    """The outcome of a run Temporal ended itself: cancelled, or failed (terminated, timed out)."""
    if isinstance(error.cause, CancelledError):
        return Outcome("cancelled", reason="workflow_cancelled")
    kind = "terminated" if isinstance(error.cause, TerminatedError) else "ended"
    return Outcome("failed", reason=f"workflow_{kind}: {error.cause}")


async def wait_for_runs(
    handles: Sequence[WorkflowHandle[Any, Any]], timeout: timedelta, *, with_scheduled: bool = False
) -> TriggerRunSummary:
    """Wait until every run ended or only snoozing runs remain, at most ``timeout``.

    With ``with_scheduled`` (Oban's ``drain_queue(with_scheduled: true)``), snoozing
    runs are waited for too: on the time-skipping test server their snoozes take no
    time.

    A chunk run counts once per record; a chunk still running at the timeout
    counts as one unfinished run. A run cancelled through Temporal counts as
    cancelled, one terminated or timed out as failed (a chunk: once).
    """
    counts: Counter[str] = Counter()
    gate = asyncio.Semaphore(RESULT_CONCURRENCY)

    async def result_of(handle: WorkflowHandle[Any, Any]) -> Any:
        while True:
            async with gate:  # FIFO: a slot given up goes to the longest waiter
                with contextlib.suppress(TimeoutError):
                    try:
                        return await asyncio.wait_for(handle.result(), ROTATE)
                    except WorkflowFailureError as error:
                        return ended_without_outcome(error)

    pending = {asyncio.ensure_future(result_of(h)): h for h in handles}
    deadline = asyncio.get_running_loop().time() + timeout.total_seconds()
    try:
        while pending:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                counts["unfinished"] += len(pending)
                break
            done, _ = await asyncio.wait(pending, timeout=min(POLL, remaining))
            for future in done:
                pending.pop(future)
                for outcome in outcomes_of(future.result()):
                    counts[COUNTED_AS[outcome.status]] += 1
            if (
                pending
                and not done
                and not with_scheduled
                and await _all_snoozing(list(pending.values()))
            ):
                counts["snoozed"] += len(pending)
                break
    finally:
        for future in pending:
            future.cancel()
    return TriggerRunSummary(**counts)


async def _all_snoozing(handles: list[WorkflowHandle[Any, Any]]) -> bool:
    for start in range(0, len(handles), QUERY_BATCH):  # bounded, and stops at the first no
        states = await asyncio.gather(
            *(
                h.query(naming.STATE_QUERY, result_type=str)
                for h in handles[start : start + QUERY_BATCH]
            ),
            return_exceptions=True,
        )
        if not all(state == "snoozed" for state in states):
            return False
    return True
