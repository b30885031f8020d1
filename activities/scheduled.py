"""The scheduled-action activity: run a generic action for one tenant."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio import activity

from ember.activities.contexts import action_context
from ember.activities.deadline import Deadline
from ember.activities.failures import log_failure
from ember.activities.invoke import call_action, settle
from ember.activities.pacing import paced
from ember.activities.records import enter_tenant
from ember.activities.runtime import WorkerRuntime
from ember.activities.transaction import run_transaction
from ember.activities.types import ActionResult, ScheduledActionRequest
from ember.registry import naming
from ember.registry.pacing import attempt_timeout
from ember.registry.signing import Scope


class ScheduledActivities:
    """``run_scheduled_action``, bound to one worker's runtime."""

    def __init__(self, runtime: WorkerRuntime) -> None:
        self.runtime = runtime

    @activity.defn(name=naming.RUN_SCHEDULED_ACTION)
    async def run_scheduled_action(self, request: ScheduledActionRequest) -> ActionResult:
        """Run the scheduled action's generic action in one transaction (one attempt)."""
        scheduled = self.runtime.scheduled_action(request.schedule)
        resource = scheduled.resource
        attempt = request.attempts_before + 1  # Temporal's own retries are outages
        if scheduled.inactive_reason is not None:  # paused or deleted since the run started
            return ActionResult("cancelled", attempt, reason=scheduled.inactive_reason)
        options = scheduled.options
        deadline = Deadline.of_activity(attempt_timeout(options.timeout, attempt))

        async def body(session: AsyncSession) -> None:
            await enter_tenant(session, resource, request.tenant)
            ctx = await action_context(
                self.runtime,
                scheduled,
                scheduled.action,
                session,
                actor=request.actor,
                scope=Scope.of(scheduled, self.runtime.config.task_queue_prefix, request.tenant),
                started_at=request.started_at,
                tenant=request.tenant,
                given_input=request.input,
                source="schedule",
                attempt=attempt,
                max_attempts=request.max_attempts,
            )
            await call_action(scheduled.action, None, ctx)

        async def work() -> None:
            await run_transaction(
                scheduled.action,
                body,
                deadline,
                self.runtime.sessions,
                self.runtime.thread_sessions,
            )

        def on_failure(error: BaseException, decided: bool) -> None:
            subject = f"{scheduled.path} for tenant {request.tenant or '-'}"
            log_failure(subject, attempt, request.max_attempts, error, decided=decided)

        return await paced(settle(work, attempt, on_failure), options.backoff, attempt)
