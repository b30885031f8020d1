"""ChunkTriggerWorkflow: a trigger's runs for many records in one workflow (``chunk_size``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

from ember.activities.attributes import OUTCOME_KEY
from ember.activities.metrics import count_runs
from ember.activities.types import (
    ActionRequest,
    ChunkItem,
    ChunkOutcome,
    ChunkRequest,
    ChunkResult,
    ChunkRun,
    FailureInfo,
    Outcome,
    RetrySpec,
)
from ember.registry import naming
from ember.registry.control import snooze_wait
from ember.workflows.attempts import LOCK_RETRY
from ember.workflows.compensation import compensate
from ember.workflows.started import run_started_at

SEVERITY = ("succeeded", "cancelled", "errored_handled", "discarded", "failed")
INFRASTRUCTURE_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=1))


def worst(statuses: Sequence[str]) -> str:
    """The most severe of ``statuses`` (a run of many outcomes shows this one)."""
    return max(statuses, key=lambda s: SEVERITY.index(s) if s in SEVERITY else 0)


def backoff(retry: RetrySpec, failures: int) -> timedelta:
    """The wait before the next attempt after ``failures`` failed attempts."""
    seconds = retry.initial_seconds * retry.coefficient ** max(failures - 1, 0)
    return timedelta(seconds=min(seconds, retry.maximum_seconds))


@workflow.defn(name=naming.CHUNK_WORKFLOW)
class ChunkTriggerWorkflow:
    """Each record keeps its own attempts, snoozes, on_error and outcome."""

    def __init__(self) -> None:
        self._snoozing: set[str] = set()
        self._pending: set[str] = set()
        self._finished = False

    @workflow.query(name=naming.STATE_QUERY)
    def state(self) -> str:
        """``snoozed`` while every unfinished record snoozes, else running or finished."""
        if self._finished:
            return "finished"
        if self._pending and self._pending <= self._snoozing:
            return "snoozed"
        return "running"

    @workflow.run
    async def run(self, run: ChunkRun) -> ChunkOutcome:
        """Act on every record until each one has an outcome."""
        actor: dict[str, Any] | None = workflow.memo_value("actor", None)
        started_at = run_started_at()
        used = dict.fromkeys(run.records, 0)
        due = dict.fromkeys(run.records, workflow.now())
        result = ChunkOutcome()
        failed: dict[str, FailureInfo] = {}
        while used:
            self._pending = set(used)
            now = workflow.now()
            ready = [record for record in used if due[record] <= now]
            if not ready:
                await workflow.sleep(min(due[record] for record in used) - now)
                continue
            batch: ChunkResult = await workflow.execute_activity(
                naming.RUN_TRIGGER_CHUNK,
                ChunkRequest(
                    trigger=run.trigger,
                    tenant=run.tenant,
                    actor=actor,
                    source=run.source,
                    items=[ChunkItem(record, used[record]) for record in ready],
                    max_attempts=run.retry.max_attempts,
                    timeout_seconds=run.retry.timeout_seconds,
                    records=run.records,
                    started_at=started_at,
                ),
                result_type=ChunkResult,
                start_to_close_timeout=timedelta(
                    seconds=run.retry.timeout_seconds * len(ready) + 30
                ),
                heartbeat_timeout=timedelta(seconds=run.retry.timeout_seconds + 30),
                retry_policy=INFRASTRUCTURE_RETRY,
            )
            self._snoozing -= set(ready)
            self._settle(run, batch, used, due, failed, result, workflow.now())
            self._snoozing |= {
                item.record
                for item in batch.items
                if item.result is not None and item.result.status == "snoozed"
            }
        for record, failure in failed.items():
            request = ActionRequest(
                trigger=run.trigger,
                tenant=run.tenant,
                record=record,
                actor=actor,
                source=run.source,
                attempts_before=failure.attempt,
                max_attempts=run.retry.max_attempts,
                error=failure,
                started_at=started_at,
                chunk=run.records,
            )
            result.outcomes[record] = await compensate(
                failure,
                request,
                has_on_error=run.has_on_error,
                on_error_fails_job=run.on_error_fails_job,
                retry=run.retry,
            )
        self._finished = True
        finish_chunk(run, result)
        return result

    @staticmethod
    def _settle(
        run: ChunkRun,
        batch: ChunkResult,
        used: dict[str, int],
        due: dict[str, datetime],
        failed: dict[str, FailureInfo],
        result: ChunkOutcome,
        now: datetime,
    ) -> None:
        """Fold one batch into the records' state: done, due again later, or failed."""
        for item in batch.items:
            record, done = item.record, item.result
            if done is not None and done.status in ("succeeded", "cancelled"):
                result.outcomes[record] = Outcome(done.status, done.attempt, reason=done.reason)
                del used[record]
            elif done is not None:  # snoozed or locked: no attempt used
                wait = (
                    snooze_wait(done.snooze_seconds)
                    if done.status == "snoozed"
                    else LOCK_RETRY.total_seconds()
                )
                due[record] = now + timedelta(seconds=wait)
            elif item.failure is not None:
                used[record] = item.failure.attempt
                if item.final or used[record] >= run.retry.max_attempts:
                    failed[record] = item.failure
                    del used[record]
                elif item.retry_delay_seconds is not None:  # backoff is a function
                    due[record] = now + timedelta(seconds=item.retry_delay_seconds)
                else:
                    due[record] = now + backoff(run.retry, used[record])


def finish_chunk(run: ChunkRun, result: ChunkOutcome) -> None:
    """Report a chunk run's end: its worst outcome as ``EmberOutcome``, a metric count
    per record outcome and one log line."""
    statuses = [outcome.status for outcome in result.outcomes.values()]
    if run.set_outcome_attribute and statuses:
        workflow.upsert_search_attributes([OUTCOME_KEY.value_set(worst(statuses))])
    counts = {s: statuses.count(s) for s in sorted(set(statuses))}
    for status, runs in counts.items():
        count_runs(workflow.metric_meter(), run.trigger.name, status, runs)
    workflow.logger.info(
        "ember chunk finished trigger=%s tenant=%s records=%d outcomes=%s",
        f"{run.trigger.resource}.{run.trigger.name}",
        naming.tenant_part(run.tenant),
        len(statuses),
        counts,
    )
