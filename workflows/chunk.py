"""ChunkTriggerWorkflow: a trigger's runs for many records in one workflow (``chunk_size``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

from ember.activities.attributes import OUTCOME_KEY
from ember.activities.metrics import count_runs
from ember.activities.run_results import run_failure
from ember.activities.types import (
    ActionRequest,
    ChunkItem,
    ChunkOutcome,
    ChunkRequest,
    ChunkResult,
    ChunkRun,
    FailureInfo,
)
from ember.registry import naming
from ember.workflows.attempts import ACTIVITY_GRACE, OUTAGE_RETRY, failure_of
from ember.workflows.chunk_progress import ChunkProgress, worst
from ember.workflows.compensation import compensate
from ember.workflows.started import run_started_at

ITEMS_PER_ACTIVITY = 500
"""Records one chunk activity acts on at most; with its messages cut to share
``CHUNK_MESSAGES``, its input and result stay well inside Temporal's 2 MB payloads."""


@workflow.defn(name=naming.CHUNK_WORKFLOW)
class ChunkTriggerWorkflow:
    """Each record keeps its own attempts, snoozes, on_error and outcome."""

    def __init__(self) -> None:
        self._progress: ChunkProgress | None = None
        self._finished = False

    @workflow.query(name=naming.STATE_QUERY)
    def state(self) -> str:
        """``snoozed`` while every unfinished record snoozes, else running or finished."""
        if self._finished:
            return "finished"
        if self._progress is not None and self._progress.all_snoozing:
            return "snoozed"
        return "running"

    @workflow.run
    async def run(self, run: ChunkRun) -> ChunkOutcome:
        """Act on every record until each one has an outcome."""
        actor: dict[str, Any] | None = workflow.memo_value("actor", None)
        started_at = run_started_at()
        progress = self._progress = ChunkProgress.of(run.records, workflow.now())
        while progress.pending:
            now = workflow.now()
            ready = progress.ready(now)[:ITEMS_PER_ACTIVITY]
            if not ready:
                await workflow.sleep(progress.next_due() - now)
                continue
            try:
                batch = await self._act(run, actor, ready, started_at)
            except ActivityError as error:  # outages outlasted the retries (or a final error)
                failure = failure_of(error, 0)
                for record in ready:
                    attempts = progress.pending[record].attempts
                    progress.fail(record, FailureInfo(failure.type, failure.message, attempts))
                continue
            for item in batch.items:
                progress.settle(item, run.retry, workflow.now())
        for record, failure in progress.failed.items():
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
            progress.result.outcomes[record] = await compensate(
                failure,
                request,
                has_on_error=run.has_on_error,
                on_error_fails_job=run.on_error_fails_job,
                retry=run.retry,
            )
        self._finished = True
        finish_chunk(run, progress.result)
        if ended_failed := run_failure(progress.result):  # a record failed or discarded
            raise ended_failed
        return progress.result

    async def _act(
        self, run: ChunkRun, actor: dict[str, Any] | None, ready: list[str], started_at: float
    ) -> ChunkResult:
        """One chunk activity on the ``ready`` records; Temporal retries it through outages."""
        assert self._progress is not None
        per_record = timedelta(seconds=run.retry.timeout_seconds) + ACTIVITY_GRACE
        batch: ChunkResult = await workflow.execute_activity(
            naming.RUN_TRIGGER_CHUNK,
            ChunkRequest(
                trigger=run.trigger,
                tenant=run.tenant,
                actor=actor,
                source=run.source,
                items=[
                    ChunkItem(record, self._progress.pending[record].attempts) for record in ready
                ],
                max_attempts=run.retry.max_attempts,
                timeout_seconds=run.retry.timeout_seconds,
                records=run.records,
                started_at=started_at,
            ),
            result_type=ChunkResult,
            start_to_close_timeout=per_record * len(ready),
            heartbeat_timeout=per_record,
            retry_policy=OUTAGE_RETRY,
        )
        return batch


def finish_chunk(run: ChunkRun, result: ChunkOutcome) -> None:
    """Report a chunk run's end: its worst outcome as ``EmberOutcome``, a metric count
    per record outcome and one log line."""
    statuses = [outcome.status for outcome in result.outcomes.values()]
    if run.search_attributes and statuses:
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
