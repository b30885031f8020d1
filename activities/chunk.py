"""The chunk activity: many records, each locked, re-checked and committed on its own."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from ember.activities.deadline import Deadline
from ember.activities.heartbeat import HEARTBEAT_EVERY, heartbeating
from ember.activities.transaction import Sessions, owned_sessions
from ember.activities.trigger_action import Attempt, TriggerActivities
from ember.activities.types import (
    TIMEOUT_ERROR,
    ActionRequest,
    ChunkItem,
    ChunkItemResult,
    ChunkRequest,
    ChunkResult,
    FailureInfo,
)
from ember.registry import Trigger, naming
from ember.registry.pacing import attempt_timeout


class ChunkActivities:
    """``run_trigger_chunk``: the ``chunk_size`` mode of a trigger."""

    def __init__(self, records: TriggerActivities) -> None:
        self.records = records

    @activity.defn(name=naming.RUN_TRIGGER_CHUNK)
    async def run_trigger_chunk(self, request: ChunkRequest) -> ChunkResult:
        """Act on each record in its own transaction; report each record's result or failure.

        The records share one connection (one pool checkout, not one per record); a
        record whose attempt timed out leaves it mid-statement, so it is replaced.
        """
        runtime = self.records.runtime
        trigger = runtime.trigger(request.trigger)
        results: list[ChunkItemResult] = []
        pending = list(request.items)
        async with heartbeating(HEARTBEAT_EVERY):  # a heartbeat per record costs a task each
            while pending:
                async with runtime.engine.connect() as connection:
                    sessions = owned_sessions(connection)
                    while pending:
                        result = await self._run_item(trigger, request, pending.pop(0), sessions)
                        results.append(result)
                        if result.failure is not None and result.failure.type == TIMEOUT_ERROR:
                            await connection.invalidate()
                            break
        return ChunkResult(results)

    async def _run_item(
        self,
        trigger: Trigger,
        request: ChunkRequest,
        item: ChunkItem,
        sessions: Sessions,
    ) -> ChunkItemResult:
        """One record's attempt, in its own transaction: its result, or its failure."""
        number = item.attempts_before + 1
        attempt = Attempt(number, number >= request.max_attempts)
        single = ActionRequest(
            trigger=request.trigger,
            tenant=request.tenant,
            record=item.record,
            actor=request.actor,
            source=request.source,
            attempts_before=item.attempts_before,
            max_attempts=request.max_attempts,
            started_at=request.started_at,
            chunk=request.records,
        )
        own = attempt_timeout(trigger.options.timeout, number).total_seconds()
        deadline = Deadline(min(request.timeout_seconds, own))
        try:
            result = await self.records.run_once(
                trigger, trigger.action, single, attempt, sessions, deadline
            )
        except ApplicationError as error:  # a timeout too: type TIMEOUT_ERROR
            failure = FailureInfo(error.type or "ApplicationError", error.message, number)
            delay = error.next_retry_delay
            return ChunkItemResult(
                item.record,
                None,
                failure,
                error.non_retryable,
                None if delay is None else delay.total_seconds(),
            )
        return ChunkItemResult(item.record, result=result)
