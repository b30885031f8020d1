"""RecordTriggerWorkflow: one trigger's run for one record, from first attempt to outcome."""

from __future__ import annotations

import contextlib
import dataclasses
from datetime import UTC, datetime
from typing import Any

from temporalio import workflow

from ember.activities.attributes import OUTCOME_KEY
from ember.activities.metrics import SCAN_TO_START, count_runs, record_latency
from ember.activities.run_results import run_failure
from ember.activities.types import (
    ActionRequest,
    FailureInfo,
    Outcome,
    RecordRun,
)
from ember.registry import naming
from ember.registry.control import snooze_wait
from ember.workflows.attempts import run_attempts
from ember.workflows.compensation import compensate
from ember.workflows.started import run_started_at

SNOOZES_PER_RUN = 200


@workflow.defn(name=naming.RECORD_WORKFLOW)
class RecordTriggerWorkflow:
    """Lock, re-check and act on one record; retries, snoozes and on_error included."""

    def __init__(self) -> None:
        self._wake = False
        self._state = "running"
        self._snoozes = 0
        self._started_at = 0.0

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
        self._started_at = run_started_at(run.started_at)
        if run.scanned_at is not None and run.attempts_used == 0 and self._snoozes == 0:
            latency = workflow.now() - datetime.fromtimestamp(run.scanned_at, UTC)
            record_latency(workflow.metric_meter(), SCAN_TO_START, run.trigger.name, latency)

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
                started_at=self._started_at,
            )

        async def snooze(seconds: float, attempts_used: int) -> None:
            await self._snooze(run, seconds, attempts_used)

        ended = await run_attempts(
            naming.RUN_TRIGGER_ACTION, request, run.retry, run.attempts_used, snooze
        )
        if isinstance(ended, FailureInfo):
            outcome = await compensate(
                ended,
                request(ended.attempt, ended),
                has_on_error=run.has_on_error,
                on_error_fails_job=run.on_error_fails_job,
                retry=run.retry,
                snooze=lambda seconds: self._sleep(run, seconds),
            )
        else:
            outcome = Outcome(ended.status, ended.attempt, reason=ended.reason)  # type: ignore[arg-type]
        self._finish(run, outcome)
        if ended_failed := run_failure(outcome):  # failed or discarded: Temporal status Failed
            raise ended_failed
        return outcome

    async def _sleep(self, run: RecordRun, seconds: float) -> None:
        """Snooze durably for ``seconds``; ``run_now`` wakes the run early."""
        self._state, self._wake = "snoozed", False
        self._set_outcome(run, "snoozed")
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: self._wake, timeout=snooze_wait(seconds))
        self._state = "running"

    async def _snooze(self, run: RecordRun, seconds: float, attempts_used: int) -> None:
        await self._sleep(run, seconds)
        self._snoozes += 1
        if self._snoozes >= SNOOZES_PER_RUN or workflow.info().is_continue_as_new_suggested():
            workflow.continue_as_new(
                dataclasses.replace(run, attempts_used=attempts_used, started_at=self._started_at),
                memo={"actor": workflow.memo_value("actor", None)},
            )

    def _finish(self, run: RecordRun, outcome: Outcome) -> None:
        self._state = "finished"
        count_runs(workflow.metric_meter(), run.trigger.name, outcome.status)
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
        if run.search_attributes:
            workflow.upsert_search_attributes([OUTCOME_KEY.value_set(status)])
