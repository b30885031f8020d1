"""RecordTriggerWorkflow: one trigger's run for one record, from first attempt to outcome."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError

from workflows.attempts import LOCK_RETRY, failure_of, run_attempts

with workflow.unsafe.imports_passed_through():
    from activities.types import (
        ACTOR_ERROR,
        DISCARD_ERROR,
        ActionRequest,
        ActionResult,
        FailureInfo,
        Outcome,
        RecordRun,
    )
    from registry import naming

OUTCOME = SearchAttributeKey.for_keyword(naming.OUTCOME_ATTRIBUTE)
SNOOZES_PER_RUN = 200


@workflow.defn(name=naming.RECORD_WORKFLOW)
class RecordTriggerWorkflow:
    """Lock, re-check and act on one record; retries, snoozes and on_error included."""

    def __init__(self) -> None:
        self._wake = False
        self._state = "running"
        self._snoozes = 0

    @workflow.signal(name=naming.RUN_NOW_SIGNAL)
    def run_now(self) -> None:
        """Wake a snoozing run now; a no-op for a run that is not snoozing."""
        self._wake = True

    @workflow.query(name=naming.STATE_QUERY)
    def state(self) -> str:
        """``running``, ``snoozed`` or ``finished``."""
        return self._state

    @workflow.run
    async def run(self, run: RecordRun) -> Outcome:
        """Run the trigger's action until it succeeds, is cancelled or fails for good."""
        actor: dict[str, Any] | None = workflow.memo_value("actor", None)

        def request(attempts_used: int, error: FailureInfo | None = None) -> ActionRequest:
            return ActionRequest(
                trigger=run.trigger,
                tenant=run.tenant,
                record=run.record,
                actor=actor,
                source=run.source,
                input=run.input,
                attempts_before=attempts_used,
                max_attempts=run.retry.max_attempts,
                error=error,
            )

        async def snooze(seconds: float, attempts_used: int) -> None:
            await self._snooze(run, seconds, attempts_used)

        try:
            result = await run_attempts(
                naming.RUN_TRIGGER_ACTION, request, run.retry, run.attempts_used, snooze
            )
            outcome = Outcome(result.status, result.attempt, reason=result.reason)  # type: ignore[arg-type]
        except ActivityError as error:
            outcome = await self._after_failure(run, failure_of(error, run.retry), request)
        self._finish(run, outcome)
        return outcome

    async def _snooze(self, run: RecordRun, seconds: float, attempts_used: int) -> None:
        self._state, self._wake = "snoozed", False
        self._set_outcome(run, "snoozed")
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: self._wake, timeout=seconds)
        self._state = "running"
        self._snoozes += 1
        if self._snoozes >= SNOOZES_PER_RUN or workflow.info().is_continue_as_new_suggested():
            workflow.continue_as_new(
                dataclasses.replace(run, attempts_used=attempts_used),
                memo={"actor": workflow.memo_value("actor", None)},
            )

    async def _after_failure(
        self,
        run: RecordRun,
        failure: FailureInfo,
        request: Callable[[int, FailureInfo | None], ActionRequest],
    ) -> Outcome:
        """The last attempt failed, or the run was discarded: compensate if declared."""
        discarded = failure.type in (DISCARD_ERROR, ACTOR_ERROR)
        reason = failure.message if discarded else None
        unhandled = Outcome(
            "discarded" if discarded else "failed", failure.attempt, failure, reason
        )
        if not run.has_on_error or failure.type == ACTOR_ERROR:
            return unhandled
        while True:
            try:
                result: ActionResult = await workflow.execute_activity(
                    naming.RUN_ON_ERROR,
                    request(failure.attempt, failure),
                    result_type=ActionResult,
                    start_to_close_timeout=timedelta(seconds=run.retry.timeout_seconds),
                    retry_policy=RetryPolicy(maximum_attempts=1),
                )
            except ActivityError:
                return Outcome("discarded", failure.attempt, failure, "on_error_failed")
            if result.status != "locked":
                break
            await workflow.sleep(LOCK_RETRY)
        if result.status != "succeeded" or discarded:
            return unhandled
        if run.on_error_fails_job:
            return Outcome("failed", failure.attempt, failure)
        return Outcome("errored_handled", failure.attempt, failure)

    def _finish(self, run: RecordRun, outcome: Outcome) -> None:
        self._state = "finished"
        self._set_outcome(run, outcome.status)
        duration = (workflow.now() - workflow.info().start_time).total_seconds()
        workflow.logger.info(
            "ember run finished trigger=%s tenant=%s record=%s outcome=%s attempts=%d "
            "duration=%.3fs",
            f"{run.trigger.resource}.{run.trigger.name}",
            naming.tenant_part(run.tenant),
            run.record,
            outcome.status,
            outcome.attempts,
            duration,
        )

    def _set_outcome(self, run: RecordRun, status: str) -> None:
        if run.set_outcome_attribute:
            workflow.upsert_search_attributes([OUTCOME.value_set(status)])
