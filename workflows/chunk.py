"""ChunkTriggerWorkflow: a trigger's runs for many records in one workflow (``chunk_size``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey
from temporalio.exceptions import ActivityError

# Dataclasses, names and deterministic helpers: passed through, so the sandbox does
# not re-import them for every run.
with workflow.unsafe.imports_passed_through():
    from activities.metrics import count_runs
    from activities.types import (
        UNAVAILABLE_ERROR,
        ActionRequest,
        ChunkItem,
        ChunkOutcome,
        ChunkRequest,
        ChunkResult,
        ChunkRun,
        FailureInfo,
        Outcome,
    )
    from registry import naming
    from workflows.attempts import (
        ACTIVITY_GRACE,
        LOCK_RETRY,
        OUTAGE_RETRY,
        OUTAGE_TRIES,
        backoff,
        failure_of,
        gave_up,
        outage_backoff,
    )
    from workflows.compensation import compensate

OUTCOME = SearchAttributeKey.for_keyword(naming.OUTCOME_ATTRIBUTE)
SEVERITY = ("succeeded", "cancelled", "errored_handled", "discarded", "failed")
ITEMS_PER_ACTIVITY = 500
"""Records one chunk activity acts on at most; with its messages cut to share
``CHUNK_MESSAGES``, its input and result stay well inside Temporal's 2 MB payloads."""


@workflow.defn(name=naming.CHUNK_WORKFLOW)
class ChunkTriggerWorkflow:
    """Each record keeps its own attempts, snoozes, on_error and outcome."""

    def __init__(self) -> None:
        self._snoozing: set[str] = set()
        self._pending: set[str] = set()
        self._finished = False
        self._used: dict[str, int] = {}  # unfinished records: attempts used
        self._outages: dict[str, int] = {}  # unfinished records: outages in a row
        self._due: dict[str, datetime] = {}
        self._failed: dict[str, FailureInfo] = {}  # failed for good, on_error to come
        self._result = ChunkOutcome()

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
        self._used = dict.fromkeys(run.records, 0)
        self._outages = dict.fromkeys(run.records, 0)
        self._due = dict.fromkeys(run.records, workflow.now())
        while self._used:
            self._pending = set(self._used)
            now = workflow.now()
            ready = [record for record in self._used if self._due[record] <= now]
            if not ready:
                await workflow.sleep(min(self._due[record] for record in self._used) - now)
                continue
            ready = ready[:ITEMS_PER_ACTIVITY]
            try:
                batch = await self._act(run, actor, ready)
            except ActivityError as error:  # outages outlasted the retries (or a final error)
                failure = failure_of(error, 0)
                for record in ready:
                    attempts = self._used.pop(record)
                    self._failed[record] = FailureInfo(failure.type, failure.message, attempts)
                continue
            self._snoozing -= set(ready)
            self._settle(run, batch, workflow.now())
            self._snoozing |= {
                item.record
                for item in batch.items
                if item.result is not None and item.result.status == "snoozed"
            }
        for record, failure in self._failed.items():
            request = ActionRequest(
                trigger=run.trigger,
                tenant=run.tenant,
                record=record,
                actor=actor,
                source=run.source,
                attempts_before=failure.attempt,
                max_attempts=run.retry.max_attempts,
                error=failure,
                timeout_seconds=run.retry.timeout_seconds,
            )
            self._result.outcomes[record] = await compensate(
                failure,
                request,
                has_on_error=run.has_on_error,
                on_error_fails_job=run.on_error_fails_job,
                retry=run.retry,
            )
        self._finished = True
        self._finish(run, self._result)
        return self._result

    async def _act(
        self, run: ChunkRun, actor: dict[str, Any] | None, ready: list[str]
    ) -> ChunkResult:
        """One chunk activity on the ``ready`` records; Temporal retries it through outages."""
        per_record = timedelta(seconds=run.retry.timeout_seconds) + ACTIVITY_GRACE
        batch: ChunkResult = await workflow.execute_activity(
            naming.RUN_TRIGGER_CHUNK,
            ChunkRequest(
                trigger=run.trigger,
                tenant=run.tenant,
                actor=actor,
                source=run.source,
                items=[ChunkItem(record, self._used[record]) for record in ready],
                max_attempts=run.retry.max_attempts,
                timeout_seconds=run.retry.timeout_seconds,
            ),
            result_type=ChunkResult,
            start_to_close_timeout=per_record * len(ready),
            heartbeat_timeout=per_record,
            retry_policy=OUTAGE_RETRY,
        )
        return batch

    def _settle(self, run: ChunkRun, batch: ChunkResult, now: datetime) -> None:
        """Fold one batch into the records' state: done, due again later, or failed."""
        for item in batch.items:
            record, done, failure = item.record, item.result, item.failure
            outage = failure is not None and failure.type == UNAVAILABLE_ERROR
            self._outages[record] = self._outages[record] + 1 if outage else 0
            if done is not None and done.status in ("succeeded", "cancelled"):
                self._result.outcomes[record] = Outcome(
                    done.status, done.attempt, reason=done.reason
                )
                del self._used[record]
            elif done is not None:  # snoozed or locked: no attempt used
                wait = (
                    done.snooze_seconds if done.status == "snoozed" else LOCK_RETRY.total_seconds()
                )
                self._due[record] = now + timedelta(seconds=wait)
            elif failure is not None and outage:  # no attempt used
                if self._outages[record] >= OUTAGE_TRIES:
                    self._failed[record] = gave_up(failure.message, self._used.pop(record))
                else:
                    self._due[record] = now + outage_backoff(self._outages[record])
            elif failure is not None:
                self._used[record] = failure.attempt
                if item.final or failure.attempt >= run.retry.max_attempts:
                    self._failed[record] = failure
                    del self._used[record]
                else:
                    self._due[record] = now + backoff(run.retry, failure.attempt)

    def _finish(self, run: ChunkRun, result: ChunkOutcome) -> None:
        statuses = [outcome.status for outcome in result.outcomes.values()]
        if run.set_outcome_attribute and statuses:
            worst = max(statuses, key=lambda s: SEVERITY.index(s) if s in SEVERITY else 0)
            workflow.upsert_search_attributes([OUTCOME.value_set(worst)])
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
