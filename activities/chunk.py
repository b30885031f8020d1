"""The chunk activity: many records, each locked, re-checked and committed on its own."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection
from temporalio import activity
from temporalio.exceptions import ApplicationError

from ember.activities.deadline import Deadline
from ember.activities.heartbeat import HEARTBEAT_EVERY, heartbeating
from ember.activities.messages import MESSAGE_LIMIT, cut
from ember.activities.outages import Unavailable, connecting
from ember.activities.transaction import Sessions, owned_sessions
from ember.activities.trigger_action import Attempt, TriggerActivities
from ember.activities.types import (
    TIMEOUT_ERROR,
    UNAVAILABLE_ERROR,
    ActionRequest,
    ChunkItem,
    ChunkItemResult,
    ChunkRequest,
    ChunkResult,
    FailureInfo,
    action_failed,
    retry_delay_of,
)
from ember.registry import Trigger, naming
from ember.registry.pacing import attempt_timeout

CHUNK_MESSAGES = 1_000_000
"""Bytes of failure messages one chunk result carries at most, shared by its records."""


class ChunkActivities:
    """``run_trigger_chunk``: the ``chunk_size`` mode of a trigger."""

    def __init__(self, records: TriggerActivities) -> None:
        self.records = records

    @activity.defn(name=naming.RUN_TRIGGER_CHUNK)
    async def run_trigger_chunk(self, request: ChunkRequest) -> ChunkResult:
        """Act on each record in its own transaction; report each record's result or failure.

        The records share one connection (one pool checkout, not one per record); a
        record whose attempt timed out or lost it gets it replaced. When no connection
        can be had the records not yet run report the outage (no attempt used), for the
        workflow to try them again later.
        """
        trigger = self.records.runtime.trigger(request.trigger)
        limit = min(MESSAGE_LIMIT, CHUNK_MESSAGES // max(len(request.items), 1))
        results: list[ChunkItemResult] = []
        pending = list(request.items)
        async with heartbeating(HEARTBEAT_EVERY):  # a heartbeat per record costs a task each
            while pending:
                try:
                    async with connecting():
                        connection = await self.records.runtime.engine.connect()
                except Unavailable as outage:
                    results += _unavailable(pending, str(outage), limit)
                    break
                try:
                    pending = await self._run_on(
                        connection, trigger, request, pending, results, limit
                    )
                finally:
                    await connection.close()
        return ChunkResult(results)

    async def _run_on(
        self,
        connection: AsyncConnection,
        trigger: Trigger,
        request: ChunkRequest,
        pending: list[ChunkItem],
        results: list[ChunkItemResult],
        limit: int,
    ) -> list[ChunkItem]:
        """Run ``pending`` records on ``connection`` until it is lost; those left to run."""
        sessions = owned_sessions(connection)
        while pending:
            result = await self._run_item(trigger, request, pending.pop(0), sessions, limit)
            results.append(result)
            failure = result.failure
            if failure is not None and failure.type in (TIMEOUT_ERROR, UNAVAILABLE_ERROR):
                await connection.invalidate()  # mid-statement or lost: take another
                break
        return pending

    async def _run_item(
        self,
        trigger: Trigger,
        request: ChunkRequest,
        item: ChunkItem,
        sessions: Sessions,
        limit: int,
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
                trigger, trigger.action, single, attempt, sessions, deadline, limit
            )
        except ApplicationError as error:
            outage = error.type == UNAVAILABLE_ERROR
            failure = FailureInfo(
                error.type or "ApplicationError",
                error.message,
                item.attempts_before if outage else number,
            )
            final = not outage and not action_failed(error.details)
            return ChunkItemResult(item.record, None, failure, final, retry_delay_of(error.details))
        return ChunkItemResult(item.record, result=result)


def _unavailable(items: list[ChunkItem], message: str, limit: int) -> list[ChunkItemResult]:
    """The results of ``items`` not run for an outage: no attempt used."""
    return [
        ChunkItemResult(
            item.record,
            None,
            FailureInfo(UNAVAILABLE_ERROR, cut(message, limit), item.attempts_before),
        )
        for item in items
    ]
