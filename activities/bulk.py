"""The bulk chunk activities: one transaction locks a chunk's still-matching rows and
runs the bulk action on them all; and the bulk on_error after the last attempt."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from sqlalchemy import Select, inspect, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from ember.activities.bulk_types import LOCKED_ELSEWHERE, BulkRequest, BulkResult, BulkSelection
from ember.activities.contexts import action_context
from ember.activities.deadline import Deadline
from ember.activities.failures import log_failure
from ember.activities.heartbeat import HEARTBEAT_EVERY, heartbeating
from ember.activities.invoke import allows, invoke, settle
from ember.activities.pacing import paced
from ember.activities.records import (
    base_query,
    completion_row,
    enter_tenant,
    lock_timeout_sql,
    still_matching,
)
from ember.activities.runtime import WorkerRuntime
from ember.activities.transaction import run_transaction
from ember.activities.trigger_action import Attempt
from ember.activities.types import NO_LONGER_APPLIES
from ember.registry import Action, ActorNotFound, Trigger, naming
from ember.registry.keys import decode_key
from ember.registry.signing import Scope
from ember.registry.tenancy import completions_table

logger = logging.getLogger("ember.activities")


def chunk_query(trigger: Trigger, tenant: str | None, keys: list[str]) -> Select[Any]:
    """The records among ``keys`` still matching the trigger (and tenant), in key order."""
    resource = trigger.resource
    values = [decode_key(resource, key) for key in keys]
    query = base_query(trigger, for_worker=True).where(resource.primary_key.in_(values))
    return still_matching(query, trigger, tenant).order_by(resource.primary_key)


class BulkActivities:
    """``run_bulk_chunk`` and ``run_bulk_on_error``: a bulk trigger's chunk transactions."""

    def __init__(self, runtime: WorkerRuntime) -> None:
        self.runtime = runtime

    @activity.defn(name=naming.RUN_BULK_CHUNK)
    async def run_bulk_chunk(self, request: BulkRequest) -> BulkResult:
        """Lock the still-matching records (``SKIP LOCKED``: rows locked elsewhere are left
        out), run the bulk action on them and commit, in one transaction."""
        trigger = self.runtime.trigger(request.trigger)
        number = request.attempts_before + 1  # Temporal's own retries are outages
        attempt = Attempt(number, number >= request.max_attempts)
        return await self._run(trigger, trigger.action, request, attempt, skip_locked=True)

    @activity.defn(name=naming.RUN_BULK_ON_ERROR)
    async def run_bulk_on_error(self, request: BulkRequest) -> BulkResult:
        """After the last failed attempt: re-lock the still-matching records (waiting for
        their locks) and run the bulk ``on_error`` on them with ``ctx.error``."""
        trigger = self.runtime.trigger(request.trigger)
        action = trigger.on_error_action
        if action is None:
            raise ApplicationError(f"trigger {trigger.path} has no on_error", non_retryable=True)
        attempt = Attempt(request.max_attempts, True)
        return await self._run(trigger, action, request, attempt, skip_locked=False)

    async def _run(
        self,
        trigger: Trigger,
        action: Action,
        request: BulkRequest,
        attempt: Attempt,
        *,
        skip_locked: bool,
    ) -> BulkResult:
        """One transaction; a failure is raised (see ``settle``) with its selection as detail."""
        selection = BulkSelection()
        deadline = Deadline.of_activity()
        runtime = self.runtime

        async def body(session: AsyncSession) -> None:
            await self._act(session, trigger, action, request, attempt, selection, skip_locked)

        async def work() -> None:
            await run_transaction(action, body, deadline, runtime.sessions, runtime.thread_sessions)

        def on_failure(error: BaseException, decided: bool) -> None:
            options = trigger.options
            final = attempt.last or decided  # a decided outcome ends the run
            if options.log_errors or (final and options.log_final_error):
                subject = (
                    f"{trigger.path} for {len(selection.acted)} records of {request.tenant or '-'}"
                )
                log_failure(
                    subject,
                    attempt.number,
                    request.max_attempts,
                    error,
                    decided=decided,
                    debug=options.debug,
                )

        async with heartbeating(HEARTBEAT_EVERY):
            try:
                result = await paced(
                    settle(work, attempt.number, on_failure),
                    trigger.options.backoff,
                    attempt.number,
                )
            except ApplicationError as error:  # the workflow needs to know whom it failed
                details = list(error.details) + [None] * (3 - len(error.details))
                raise type(error)(
                    error.message,
                    *details[:3],
                    dataclasses.asdict(selection),
                    type=error.type,
                    non_retryable=error.non_retryable,
                ).with_traceback(error.__traceback__) from None
        return BulkResult(
            result.status, result.attempt, selection, result.reason, result.snooze_seconds
        )

    async def _act(
        self,
        session: AsyncSession,
        trigger: Trigger,
        action: Action,
        request: BulkRequest,
        attempt: Attempt,
        selection: BulkSelection,
        skip_locked: bool,
    ) -> None:
        resource = trigger.resource
        options = trigger.options
        await session.execute(text(lock_timeout_sql(self.runtime.config.lock_timeout)))
        await enter_tenant(session, resource, request.tenant)
        query = chunk_query(trigger, request.tenant, request.records)
        if options.lock_for_update:
            query = query.with_for_update(of=resource.model, skip_locked=skip_locked)
        keys = {decode_key(resource, key): key for key in request.records}
        found = {
            keys[inspect(record).identity[0]]: record
            for record in (await session.execute(query)).scalars()
        }
        missing = [key for key in request.records if key not in found]
        await self._classify(session, trigger, request.tenant, missing, selection, skip_locked)
        ctx = await action_context(
            self.runtime,
            trigger,
            action,
            session,
            actor=request.actor,
            scope=self._scope(trigger, request),
            started_at=request.started_at,
            tenant=request.tenant,
            given_input=None,
            source=request.source,
            attempt=attempt.number,
            max_attempts=request.max_attempts,
            error=request.error,
            by_ember=True,  # its policy is asked per record here, not through call_action
        )
        records = []
        for key, record in found.items():
            if action.policy is None or await allows(action.policy, record, ctx):
                selection.acted.append(key)
                records.append(record)
            else:
                selection.forbidden.append(key)
        if not records:
            return
        if options.debug:
            logger.info(
                "ember: running %s on %d records (attempt %d)",
                action.name,
                len(records),
                attempt.number,
            )
        await invoke(action, (records, ctx), ctx)
        if options.trigger_once and request.error is None:
            rows = [completion_row(trigger, request.tenant, key) for key in selection.acted]
            completions = completions_table(resource)
            await session.execute(insert(completions).values(rows).on_conflict_do_nothing())

    async def _classify(
        self,
        session: AsyncSession,
        trigger: Trigger,
        tenant: str | None,
        missing: list[str],
        selection: BulkSelection,
        skip_locked: bool,
    ) -> None:
        """Why each missing record was not selected: locked elsewhere (it still matches,
        read without a lock) or no longer matching."""
        selection.skipped = dict.fromkeys(missing, NO_LONGER_APPLIES)
        if not missing or not (skip_locked and trigger.options.lock_for_update):
            return
        key = trigger.resource.primary_key
        query = chunk_query(trigger, tenant, missing).with_only_columns(key)
        keys = {decode_key(trigger.resource, k): k for k in missing}
        for value in (await session.execute(query)).scalars():
            selection.skipped[keys[value]] = LOCKED_ELSEWHERE

    def _scope(self, trigger: Trigger, request: BulkRequest) -> Scope:
        """The scope the run's actor is signed for: the chunk's records, all of them."""
        if not set(request.records) <= set(request.chunk):
            raise ActorNotFound("a bulk request names records outside its chunk")
        prefix = self.runtime.config.task_queue_prefix
        return Scope.of(trigger, prefix, request.tenant, tuple(request.chunk))
