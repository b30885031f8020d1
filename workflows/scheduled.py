"""ScheduledActionWorkflow: a generic action on a cron, once per tenant."""

from __future__ import annotations

from temporalio import workflow

# Dataclasses, names and deterministic helpers: passed through, so the sandbox does
# not re-import them for every run.
with workflow.unsafe.imports_passed_through():
    from activities.types import (
        FailureInfo,
        Outcome,
        ScheduledActionRequest,
        ScheduledOutcome,
        ScheduledRun,
        TenantsRequest,
        TenantsResult,
    )
    from registry import naming
    from workflows.attempts import OUTAGE_RETRY, run_attempts
    from workflows.compensation import unhandled
    from workflows.scan import PAGE_TIMEOUT


@workflow.defn(name=naming.SCHEDULED_ACTION_WORKFLOW)
class ScheduledActionWorkflow:
    """Run the scheduled action for each tenant, with its retries; one outcome each."""

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
                retry_policy=OUTAGE_RETRY,
            )
            tenants = listed.tenants
        result = ScheduledOutcome()
        for tenant in tenants:
            result.outcomes[naming.tenant_part(tenant)] = await self._run_for(run, tenant)
        return result

    async def _run_for(self, run: ScheduledRun, tenant: str | None) -> Outcome:
        def request(attempts_used: int) -> ScheduledActionRequest:
            return ScheduledActionRequest(
                run.schedule,
                tenant,
                run.retry.max_attempts,
                attempts_before=attempts_used,
                timeout_seconds=run.retry.timeout_seconds,
            )

        async def snooze(seconds: float, _attempts_used: int) -> None:
            await workflow.sleep(seconds)

        done = await run_attempts(naming.RUN_SCHEDULED_ACTION, request, run.retry, 0, snooze)
        if isinstance(done, FailureInfo):
            return unhandled(done)
        return Outcome(done.status, done.attempt, reason=done.reason)  # type: ignore[arg-type]
