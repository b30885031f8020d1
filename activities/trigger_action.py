"""The record activities: lock, re-check and act; and the compensating on_error."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from ember.activities.contexts import action_context
from ember.activities.deadline import Deadline
from ember.activities.failures import log_failure
from ember.activities.invoke import NoLongerApplies, call_action, settle
from ember.activities.messages import MESSAGE_LIMIT
from ember.activities.pacing import paced
from ember.activities.records import completion_row, enter_tenant, lock_timeout_sql, record_query
from ember.activities.runtime import WorkerRuntime
from ember.activities.transaction import Sessions, run_transaction
from ember.activities.types import ActionRequest, ActionResult
from ember.registry import Action, ActorNotFound, Trigger, naming
from ember.registry.keys import decode_key
from ember.registry.pacing import attempt_timeout
from ember.registry.signing import Scope
from ember.registry.tenancy import completions_table

logger = logging.getLogger("ember.activities")


@dataclass(frozen=True)
class Attempt:
    """Which attempt this is (1-based) and whether it is the last allowed."""

    number: int
    last: bool


class TriggerActivities:
    """``run_trigger_action`` and ``run_on_error``, bound to one worker's runtime."""

    def __init__(self, runtime: WorkerRuntime) -> None:
        self.runtime = runtime

    @activity.defn(name=naming.RUN_TRIGGER_ACTION)
    async def run_trigger_action(self, request: ActionRequest) -> ActionResult:
        """Lock the record, re-check ``where``, run the action and commit, in one transaction.

        One action attempt: the workflow counts attempts (``attempts_before``); Temporal's
        own retries of this activity are for outages and use none.
        """
        trigger = self.runtime.trigger(request.trigger)
        number = request.attempts_before + 1
        attempt = Attempt(number, number >= request.max_attempts)
        return await self.run_once(trigger, trigger.action, request, attempt)

    @activity.defn(name=naming.RUN_ON_ERROR)
    async def run_on_error(self, request: ActionRequest) -> ActionResult:
        """After the last failed attempt: re-lock, re-check, run ``on_error`` with ``ctx.error``."""
        trigger = self.runtime.trigger(request.trigger)
        action = trigger.on_error_action
        if action is None:
            raise ApplicationError(f"trigger {trigger.path} has no on_error", non_retryable=True)
        return await self.run_once(trigger, action, request, Attempt(request.max_attempts, True))

    async def run_once(
        self,
        trigger: Trigger,
        action: Action,
        request: ActionRequest,
        attempt: Attempt,
        sessions: Sessions | None = None,
        deadline: Deadline | None = None,
        message_limit: int = MESSAGE_LIMIT,
    ) -> ActionResult:
        """One attempt in one transaction; failures raise ApplicationError (see ``settle``).

        ``sessions`` makes the transaction's session (a pooled connection by default;
        a plain ``def`` action gets a connection of its own on its own thread);
        ``deadline`` is the attempt's (by default the activity's start-to-close, and
        the action's ``timeout`` from when the transaction has its connection);
        failure messages are cut to ``message_limit`` bytes.
        """
        options = trigger.options
        if trigger.inactive_reason is not None:  # paused or deleted since the run started
            return ActionResult("cancelled", attempt.number, reason=trigger.inactive_reason)
        limit = deadline or Deadline.of_activity(attempt_timeout(options.timeout, attempt.number))

        async def body(session: AsyncSession) -> None:
            await self._act(session, trigger, action, request, attempt)

        async def work() -> None:
            await run_transaction(
                action,
                body,
                limit,
                sessions or self.runtime.sessions,
                self.runtime.thread_sessions,
            )

        def on_failure(error: BaseException, decided: bool) -> None:
            final = attempt.last or decided  # a decided outcome ends the run
            if options.log_errors or (final and options.log_final_error):
                subject = f"{trigger.path} for {request.tenant or '-'}/{request.record}"
                log_failure(
                    subject,
                    attempt.number,
                    request.max_attempts,
                    error,
                    decided=decided,
                    debug=options.debug,
                )

        return await paced(
            settle(work, attempt.number, on_failure, message_limit),
            options.backoff,
            attempt.number,
        )

    async def _act(
        self,
        session: AsyncSession,
        trigger: Trigger,
        action: Action,
        request: ActionRequest,
        attempt: Attempt,
    ) -> None:
        resource = trigger.resource
        await session.execute(text(lock_timeout_sql(self.runtime.config.lock_timeout)))
        await enter_tenant(session, resource, request.tenant)
        record = (
            (await session.execute(record_query(trigger, request.tenant, request.record)))
            .scalars()
            .first()
        )
        if record is None:
            raise NoLongerApplies
        options = trigger.options
        ctx = await action_context(
            self.runtime,
            trigger,
            action,
            session,
            actor=request.actor,
            scope=self._scope(trigger, request),
            started_at=request.started_at,
            tenant=request.tenant,
            given_input=request.input,
            source=request.source,
            attempt=attempt.number,
            max_attempts=request.max_attempts,
            error=request.error,
            metadata=options.read_metadata(record) if options.read_metadata else {},
            extra=_extra(options.extra_args, record),
            record_key=decode_key(resource, request.record),
        )
        if options.debug:
            logger.info(
                "ember: running %s on %s (attempt %d)", action.name, request.record, attempt.number
            )
        await call_action(action, record, ctx)
        if options.trigger_once and request.error is None:
            row = completion_row(trigger, request.tenant, request.record)
            completions = completions_table(trigger.resource)
            await session.execute(insert(completions).values(row).on_conflict_do_nothing())

    def _scope(self, trigger: Trigger, request: ActionRequest) -> Scope:
        """The scope the run's actor must be signed for: its record, or its chunk's records."""
        prefix = self.runtime.config.task_queue_prefix
        if request.chunk is None:
            return Scope.of(trigger, prefix, request.tenant, request.record)
        if request.record not in request.chunk:
            raise ActorNotFound(f"record {request.record!r} is not one of its chunk's records")
        return Scope.of(trigger, prefix, request.tenant, tuple(request.chunk))


def _extra(extra_args: dict[str, Any] | Callable[[Any], dict[str, Any]], record: Any) -> Any:
    """``ctx.extra``: a copy of the trigger's dict, or what its function returns for ``record``."""
    return extra_args(record) if callable(extra_args) else dict(extra_args)
