"""The scheduled-action activity: run a generic action for one tenant."""

from __future__ import annotations

import logging

from temporalio import activity

from activities.actors import resolve_actor
from activities.invoke import call_action, settle, timed
from activities.messages import describe
from activities.outages import transaction
from activities.records import enter_tenant
from activities.runtime import Runtime
from activities.types import ActionResult, ScheduledActionRequest
from registry import ActionContext, naming
from registry.signing import Scope

logger = logging.getLogger("ember.activities")


class ScheduledActivities:
    """``run_scheduled_action``, bound to one worker's runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    @activity.defn(name=naming.RUN_SCHEDULED_ACTION)
    async def run_scheduled_action(self, request: ScheduledActionRequest) -> ActionResult:
        """Run the scheduled action's generic action in one transaction (one attempt)."""
        scheduled = self.runtime.scheduled_action(request.schedule)
        resource = scheduled.resource
        attempt = request.attempts_before + 1
        seconds = request.timeout_seconds or scheduled.options.timeout.total_seconds()

        async def work() -> None:
            async with transaction(self.runtime.sessions) as (session, connection):
                await enter_tenant(session, resource, request.tenant)
                ctx = ActionContext(
                    session=session,
                    actor=await resolve_actor(
                        resource,
                        request.actor,
                        self.runtime.config.signing_key,
                        Scope.of(request.schedule.path, request.tenant),
                        session,
                    ),
                    tenant=request.tenant,
                    input=scheduled.action.parse_input(scheduled.options.action_input),
                    trigger=scheduled.name,
                    source="schedule",
                    attempt=attempt,
                    max_attempts=request.max_attempts,
                    last_attempt=attempt >= request.max_attempts,
                    shared=dict(resource.domain.shared_context),
                )
                async with timed(seconds, connection):
                    await call_action(scheduled.action, None, ctx)

        def on_failure(error: BaseException) -> None:
            logger.warning(
                "ember: %s failed for tenant %s on attempt %d of %d: %s: %s",
                scheduled.path,
                request.tenant or "-",
                attempt,
                request.max_attempts,
                type(error).__name__,
                describe(error),
            )

        return await settle(work, attempt, on_failure)
