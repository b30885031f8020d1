"""TriggerScanWorkflow: page through a trigger's matching rows, tenant by tenant."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.messages import describe
    from activities.types import (
        ScanPage,
        ScanPageRequest,
        ScanRequest,
        ScanSummary,
        TenantsRequest,
        TenantsResult,
    )
    from registry import naming

PAGES_PER_RUN = 100
PAGE_TIMEOUT = timedelta(minutes=10)
# The page activity heartbeats every few seconds: a page whose worker died is retried
# after this, not after PAGE_TIMEOUT (while it waits, overlap SKIP holds the next scans).
PAGE_HEARTBEAT = timedelta(seconds=15)


@workflow.defn(name=naming.SCAN_WORKFLOW)
class TriggerScanWorkflow:
    """Start one record run per matching row; continue-as-new keeps history bounded."""

    @workflow.run
    async def run(self, scan: ScanRequest) -> ScanSummary:
        """Scan every tenant from ``scan``'s position to the last page (or the record limit)."""
        policy = RetryPolicy(maximum_attempts=max(1, scan.max_attempts))
        if scan.tenants is None:
            try:
                listed: TenantsResult = await workflow.execute_activity(
                    naming.LIST_TENANTS,
                    TenantsRequest(scan.trigger),
                    result_type=TenantsResult,
                    start_to_close_timeout=PAGE_TIMEOUT,
                    retry_policy=policy,
                )
            except ActivityError as error:
                raise stopped(scan, "listing its tenants", error) from None
            scan = dataclasses.replace(scan, tenants=listed.tenants)
        tenants = scan.tenants or []
        pages = 0
        while scan.tenant_index < len(tenants):
            tenant = tenants[scan.tenant_index]
            limit = scan.batch_size
            if scan.record_limit is not None:
                limit = min(limit, scan.record_limit - scan.dispatched_for_tenant)
            page = ScanPage(0, scan.cursor, last_page=True)
            if limit > 0:
                try:
                    page = await workflow.execute_activity(
                        naming.SCAN_AND_DISPATCH,
                        ScanPageRequest(
                            scan.trigger, tenant, scan.cursor, limit, scan.actor, scan.collect_runs
                        ),
                        result_type=ScanPage,
                        start_to_close_timeout=PAGE_TIMEOUT,
                        heartbeat_timeout=PAGE_HEARTBEAT,
                        retry_policy=policy,
                    )
                except ActivityError as error:
                    where = f"a page of tenant {naming.tenant_part(tenant)}"
                    raise stopped(scan, where, error) from None
            scan.dispatched += page.dispatched
            if page.started is not None:
                scan.collected.add(page.started)
            scan.dispatched_for_tenant += page.dispatched
            scan.cursor = page.cursor
            if page.last_page:
                scan.tenant_index += 1
                scan.cursor, scan.dispatched_for_tenant = None, 0
            pages += 1
            if pages >= PAGES_PER_RUN or workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(scan)
        return ScanSummary(scan.dispatched, len(tenants), scan.collected)


def stopped(scan: ScanRequest, where: str, error: ActivityError) -> ApplicationError:
    """The scan's failure once ``where`` failed every attempt (``max_scheduler_attempts``)."""
    attempts = max(1, scan.max_attempts)
    return ApplicationError(
        f"scan of {scan.trigger.path} stopped: {where} failed {attempts} attempt(s) "
        f"(max_scheduler_attempts), the last with: {describe(error.cause or error)}; "
        f"{scan.dispatched} runs were started; the rows left still match, so the next "
        "scheduled scan picks them up",
        type="ember.ScanFailed",
        non_retryable=True,
    )
