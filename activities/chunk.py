"""The chunk activity: many records, each locked, re-checked and committed on its own."""

from __future__ import annotations

import asyncio

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.trigger_action import Attempt, TriggerActivities
from activities.types import (
    ActionRequest,
    ChunkItemResult,
    ChunkRequest,
    ChunkResult,
    FailureInfo,
)
from registry import naming


class ChunkActivities:
    """``run_trigger_chunk``: the ``chunk_size`` mode of a trigger."""

    def __init__(self, records: TriggerActivities) -> None:
        self.records = records

    @activity.defn(name=naming.RUN_TRIGGER_CHUNK)
    async def run_trigger_chunk(self, request: ChunkRequest) -> ChunkResult:
        """Act on each record in its own transaction; report each record's result or failure."""
        trigger = self.records.runtime.trigger(request.trigger)
        results = []
        for item in request.items:
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
            )
            try:
                result = await asyncio.wait_for(
                    self.records.run_once(trigger, trigger.action, single, attempt),
                    request.timeout_seconds,
                )
                results.append(ChunkItemResult(item.record, result=result))
            except ApplicationError as error:
                failure = FailureInfo(error.type or "ApplicationError", error.message, number)
                results.append(ChunkItemResult(item.record, None, failure, error.non_retryable))
            except TimeoutError:
                message = f"attempt exceeded {request.timeout_seconds:g}s"
                results.append(
                    ChunkItemResult(item.record, None, FailureInfo("Timeout", message, number))
                )
            activity.heartbeat(len(results))
        return ChunkResult(results)
