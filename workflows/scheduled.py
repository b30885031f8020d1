"""ScheduledActionWorkflow: a generic action on a cron, once per tenant."""

from __future__ import annotations

from typing import Any

from temporalio import workflow

from ember.activities.attributes import OUTCOME_KEY
from ember.activities.types import (
    FailureInfo,
    Outcome,
    ScheduledActionRequest,
    ScheduledOutcome,
    ScheduledRun,
)
from ember.registry import naming
from ember.registry.control import snooze_wait
from ember.workflows.attempts import OUTAGE_RETRY, run_attempts
from ember.workflows.chunk_progress import worst
from ember.workflows.compensation import unhandled
from ember.workflows.scan import list_next_tenants
from ember.workflows.started import run_started_at

TENANTS_PER_RUN = 100


@workflow.defn(name=naming.SCHEDULED_ACTION_WORKFLOW)
class ScheduledActionWorkflow:
    """Run the scheduled action for each tenant, with its retries; one outcome each.

    Tenants come a page at a time, and the workflow continues-as-new every
    ``TENANTS_PER_RUN`` steps, so history stays flat however many tenants there are.
    ``EmberOutcome`` is the worst of them (as a chunk run's).
    """

    @workflow.run
    async def run(self, run: ScheduledRun) -> ScheduledOutcome:
        """Run for every tenant in turn and collect the outcomes."""
        run.started_at = run_started_at(run.started_at)
        actor: dict[str, Any] | None = workflow.memo_value("actor", None)
        paging, steps = run.paging, 0
        while not paging.page_done or paging.more:
            if paging.page_done:
                await list_next_tenants(
                    paging,
                    run.tenants,
                    run.schedule,
                    scheduled_action=True,
                    retry_policy=OUTAGE_RETRY,
                )
            else:
                tenant = paging.tenant
                outcome = await self._run_for(run, tenant, actor)
                run.result.add(naming.tenant_part(tenant), outcome)
                paging.index += 1
            steps += 1
            if steps >= TENANTS_PER_RUN or workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(run, memo={} if actor is None else {"actor": actor})
        statuses = list(run.result.counts)
        if run.search_attributes and statuses:  # `status` counts runs by it
            workflow.upsert_search_attributes([OUTCOME_KEY.value_set(worst(statuses))])
        return run.result

    async def _run_for(
        self, run: ScheduledRun, tenant: str | None, actor: dict[str, Any] | None
    ) -> Outcome:
        def request(attempts_used: int) -> ScheduledActionRequest:
            return ScheduledActionRequest(
                run.schedule,
                tenant,
                run.retry.max_attempts,
                actor=actor,
                attempts_before=attempts_used,
                input=run.input,
                started_at=run.started_at,
            )

        async def snooze(seconds: float, _attempts_used: int) -> None:
            await workflow.sleep(snooze_wait(seconds))

        done = await run_attempts(naming.RUN_SCHEDULED_ACTION, request, run.retry, 0, snooze)
        if isinstance(done, FailureInfo):
            return unhandled(done)
        return Outcome(done.status, done.attempt, reason=done.reason)  # type: ignore[arg-type]
