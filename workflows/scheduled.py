"""ScheduledActionWorkflow: a generic action on a cron, once per tenant."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

from activities.types import (
    Outcome,
    ScheduledActionRequest,
    ScheduledOutcome,
    ScheduledRun,
    TenantsRequest,
    TenantsResult,
)
from registry import naming
from registry.control import snooze_wait
from workflows.attempts import failure_of, run_attempts
from workflows.chunk import OUTCOME, worst
from workflows.compensation import unhandled
from workflows.scan import PAGE_TIMEOUT


@workflow.defn(name=naming.SCHEDULED_ACTION_WORKFLOW)
class ScheduledActionWorkflow:
    """Run the scheduled action for each tenant, with its retries; one outcome each.

    ``EmberOutcome`` is the worst of them (as a chunk run's).
    """

    @workflow.run
    async def run(self, run: ScheduledRun) -> ScheduledOutcome:
        """Run for every tenant in turn and collect the outcomes."""
        tenants = run.tenants
        if tenants is None:
            listed: TenantsResult = await workflow.execute_activity(
                naming.LIST_TENANTS,
                TenantsRequest(run.schedule, scheduled_action=True),
                result_type=TenantsResult,
                start_to_close_timeout=PAGE_TIMEOUT,
            )
            tenants = listed.tenants
        result = ScheduledOutcome()
        for tenant in tenants:
            result.outcomes[naming.tenant_part(tenant)] = await self._run_for(run, tenant)
        statuses = [outcome.status for outcome in result.outcomes.values()]
        if run.set_outcome_attribute and statuses:  # `status` counts runs by it
            workflow.upsert_search_attributes([OUTCOME.value_set(worst(statuses))])
        return result

    async def _run_for(self, run: ScheduledRun, tenant: str | None) -> Outcome:
        def request(attempts_used: int) -> ScheduledActionRequest:
            return ScheduledActionRequest(
                run.schedule, tenant, run.retry.max_attempts, attempts_before=attempts_used
            )

        async def snooze(seconds: float, _attempts_used: int) -> None:
            await workflow.sleep(snooze_wait(seconds))

        try:
            done = await run_attempts(naming.RUN_SCHEDULED_ACTION, request, run.retry, 0, snooze)
        except ActivityError as error:
            return unhandled(failure_of(error, run.retry))
        return Outcome(done.status, done.attempt, reason=done.reason)  # type: ignore[arg-type]
