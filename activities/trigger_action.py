"""The record activities: lock, re-check and act; and the compensating on_error."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.actors import resolve_actor
from activities.invoke import NoLongerApplies, call_action, settle, timed
from activities.messages import MESSAGE_LIMIT, describe
from activities.outages import transaction
from activities.records import completion_row, enter_tenant, lock_timeout_sql, record_query
from activities.runtime import Runtime
from activities.types import ActionRequest, ActionResult
from registry import Action, ActionContext, ErrorInfo, Trigger, naming
from registry.signing import Scope
from registry.tables import trigger_completions

logger = logging.getLogger("ember.activities")


@dataclass(frozen=True)
class Attempt:
    """Which attempt this is (1-based) and whether it is the last allowed."""

    number: int
    last: bool


class TriggerActivities:
    """``run_trigger_action`` and ``run_on_error``, bound to one worker's runtime."""

    def __init__(self, runtime: Runtime) -> None:
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
        sessions: async_sessionmaker[AsyncSession] | None = None,
        message_limit: int = MESSAGE_LIMIT,
    ) -> ActionResult:
        """One attempt in one transaction; failures raise ApplicationError (see ``settle``).

        ``sessions`` makes the transaction's session (a pooled connection by default);
        failure messages are cut to ``message_limit`` bytes.
        """
        options = trigger.options

        async def work() -> None:
            async with transaction(sessions or self.runtime.sessions) as (session, connection):
                await self._act(session, connection, trigger, action, request, attempt)

        def on_failure(error: BaseException) -> None:
            if options.log_errors or (attempt.last and options.log_final_error):
                self._log_failure(trigger, request, attempt, error)

        return await settle(work, attempt.number, on_failure, message_limit)

    async def _act(
        self,
        session: AsyncSession,
        connection: AsyncConnection,
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
        ctx = ActionContext(
            session=session,
            actor=await resolve_actor(
                resource,
                request.actor,
                self.runtime.config.signing_key,
                Scope.of(request.trigger.path, request.tenant, request.record),
                session,
            ),
            tenant=request.tenant,
            input=action.parse_input(
                request.input if request.input is not None else options.action_input
            ),
            trigger=trigger.name,
            source=request.source,
            attempt=attempt.number,
            max_attempts=request.max_attempts,
            last_attempt=attempt.last,
            metadata=options.read_metadata(record) if options.read_metadata else {},
            error=_error_info(request),
            shared=dict(resource.domain.shared_context),
        )
        if options.debug:
            logger.info(
                "ember: running %s on %s (attempt %d)", action.name, request.record, attempt.number
            )
        seconds = request.timeout_seconds or options.timeout.total_seconds()
        async with timed(seconds, connection):  # the clock starts once the row is locked
            await call_action(action, record, ctx)
        if options.trigger_once and request.error is None:
            row = completion_row(trigger, request.tenant, request.record)
            await session.execute(insert(trigger_completions).values(row).on_conflict_do_nothing())

    def _log_failure(
        self, trigger: Trigger, request: ActionRequest, attempt: Attempt, error: BaseException
    ) -> None:
        logger.warning(
            "ember: %s failed for %s/%s on attempt %d of %d: %s: %s",
            trigger.path,
            request.tenant or "-",
            request.record,
            attempt.number,
            request.max_attempts,
            type(error).__name__,
            describe(error),
        )


def _error_info(request: ActionRequest) -> ErrorInfo | None:
    error = request.error
    return None if error is None else ErrorInfo(error.type, error.message, error.attempt)
