"""BulkChunkTriggerWorkflow: one bulk action per chunk, with chunk-level attempts and
on_error, and still one outcome per record."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from ember.activities.attributes import OUTCOME_KEY
from ember.activities.bulk_types import BulkRequest, BulkResult, BulkRun, BulkSelection
from ember.activities.types import (
    FORBIDDEN_ERROR,
    NO_LONGER_APPLIES,
    ChunkOutcome,
    FailureInfo,
    Outcome,
    action_failed,
)
from ember.registry import naming
from ember.registry.control import snooze_wait
from ember.workflows.attempts import (
    ACTIVITY_GRACE,
    LOCK_RETRY,
    OUTAGE_RETRY,
    failure_details,
    failure_of,
    next_wait,
)
from ember.workflows.chunk import finish_chunk
from ember.workflows.compensation import DISCARDING, NO_ON_ERROR, unhandled
from ember.workflows.record import SNOOZES_PER_RUN
from ember.workflows.started import run_started_at

HEARTBEAT_TIMEOUT = timedelta(seconds=30)  # the activity heartbeats every 2 s


@workflow.defn(name=naming.BULK_CHUNK_WORKFLOW)
class BulkChunkTriggerWorkflow:
    """The chunk succeeds, fails, snoozes and compensates as one; outcomes stay per record."""

    def __init__(self) -> None:
        self._state = "running"
        self._snoozes = 0

    @workflow.query(name=naming.STATE_QUERY)
    def state(self) -> str:
        """``running``, ``snoozed`` or ``finished``."""
        return self._state

    @workflow.run
    async def run(self, run: BulkRun) -> ChunkOutcome:
        """Run the bulk action until the chunk succeeds, is cancelled or fails for good."""
        actor: dict[str, Any] | None = workflow.memo_value("actor", None)
        started_at = run_started_at(run.started_at)

        def request(
            attempts_used: int, records: list[str], error: FailureInfo | None = None
        ) -> BulkRequest:
            return BulkRequest(
                trigger=run.trigger,
                tenant=run.tenant,
                records=records,
                chunk=run.records,
                actor=actor,
                source=run.source,
                attempts_before=attempts_used,
                max_attempts=run.retry.max_attempts,
                error=error,
                started_at=started_at,
            )

        result = ChunkOutcome()
        attempts_used = run.attempts_used
        while True:
            try:
                bulk = await self._execute(
                    naming.RUN_BULK_CHUNK, request(attempts_used, run.records), run
                )
            except ActivityError as error:
                failure = failure_of(error, attempts_used)
                if (
                    action_failed(failure_details(error))
                    and failure.attempt < run.retry.max_attempts
                ):
                    attempts_used = failure.attempt  # the chunk's next attempt, after backoff
                    await workflow.sleep(next_wait(error, run.retry, attempts_used))
                    continue
                failed = _settle_skipped(result, run.records, _selection_of(error), failure.attempt)
                await self._compensate(run, failure, failed, request, result)
                break
            attempts_used = bulk.attempt - 1  # a snooze or a lock wait uses no attempt
            if bulk.status == "snoozed":
                await self._snooze(run, bulk.snooze_seconds, attempts_used, started_at)
            elif bulk.status == "locked":
                await workflow.sleep(LOCK_RETRY)
            else:
                done = Outcome(bulk.status, bulk.attempt, reason=bulk.reason)
                rest = _settle_skipped(result, run.records, bulk.selection, bulk.attempt)
                unmatched = Outcome(
                    "cancelled", bulk.attempt, reason=bulk.reason or NO_LONGER_APPLIES
                )
                for key in rest:
                    result.outcomes[key] = done if key in bulk.selection.acted else unmatched
                break
        self._state = "finished"
        finish_chunk(run, result)
        return result

    async def _execute(self, activity: str, request: BulkRequest, run: BulkRun) -> BulkResult:
        """One bulk activity; Temporal retries it through outages (they use no attempt)."""
        result: BulkResult = await workflow.execute_activity(
            activity,
            request,
            result_type=BulkResult,
            start_to_close_timeout=timedelta(seconds=run.retry.timeout_seconds) + ACTIVITY_GRACE,
            heartbeat_timeout=HEARTBEAT_TIMEOUT,
            retry_policy=OUTAGE_RETRY,
        )
        return result

    async def _compensate(
        self,
        run: BulkRun,
        failure: FailureInfo,
        failed: list[str],
        request: Callable[[int, list[str], FailureInfo], BulkRequest],
        result: ChunkOutcome,
    ) -> None:
        """Run the bulk on_error once for ``failed`` (lock waits repeat it); set their outcomes.

        A record on_error finds no longer matching ends ``cancelled``, one its policy
        denies ``discarded/forbidden``; an unknown actor and a policy's denial of the
        action skip on_error, as for record runs.
        """
        if not run.has_on_error or failure.type in NO_ON_ERROR or not failed:
            _set(result, failed, unhandled(failure))
            return
        while True:
            try:
                bulk = await self._execute(
                    naming.RUN_BULK_ON_ERROR, request(failure.attempt, failed, failure), run
                )
            except ActivityError:
                _set(
                    result,
                    failed,
                    Outcome("discarded", failure.attempt, failure, "on_error_failed"),
                )
                return
            if bulk.status != "locked":
                break
            await workflow.sleep(LOCK_RETRY)
        if bulk.status != "succeeded" or failure.type in DISCARDING:
            handled = unhandled(failure)
        elif run.on_error_fails_job:
            handled = Outcome("failed", failure.attempt, failure)
        else:
            handled = Outcome("errored_handled", failure.attempt, failure)
        _set(result, _settle_skipped(result, failed, bulk.selection, failure.attempt), handled)

    async def _snooze(
        self, run: BulkRun, seconds: float, attempts_used: int, started_at: float
    ) -> None:
        """The whole chunk sleeps durably, then runs again (continued as new now and then)."""
        self._state = "snoozed"
        if run.search_attributes:
            workflow.upsert_search_attributes([OUTCOME_KEY.value_set("snoozed")])
        await workflow.sleep(snooze_wait(seconds))
        self._state = "running"
        self._snoozes += 1
        if self._snoozes >= SNOOZES_PER_RUN or workflow.info().is_continue_as_new_suggested():
            workflow.continue_as_new(
                dataclasses.replace(run, attempts_used=attempts_used, started_at=started_at),
                memo={"actor": workflow.memo_value("actor", None)},
            )


def _selection_of(error: ActivityError) -> BulkSelection:
    """The selection a failed attempt reported, its last detail (none when it never
    reported: outages)."""
    cause = error.cause
    if (
        isinstance(cause, ApplicationError)
        and cause.details
        and isinstance(cause.details[-1], dict)
    ):
        return BulkSelection(**cause.details[-1])
    return BulkSelection()


def _settle_skipped(
    result: ChunkOutcome, records: Iterable[str], selection: BulkSelection, attempt: int
) -> list[str]:
    """Settle the records the transaction skipped (``cancelled`` with why) or its policy
    denied (``discarded/forbidden``); return the others, in order."""
    forbidden = unhandled(FailureInfo(FORBIDDEN_ERROR, "forbidden", attempt))
    rest = []
    for key in records:
        if key in selection.skipped:
            result.outcomes[key] = Outcome("cancelled", attempt, reason=selection.skipped[key])
        elif key in selection.forbidden:
            result.outcomes[key] = forbidden
        else:
            rest.append(key)
    return rest


def _set(result: ChunkOutcome, keys: list[str], outcome: Outcome) -> None:
    for key in keys:
        result.outcomes[key] = outcome
