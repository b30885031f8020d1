"""TriggerScanWorkflow: page through a trigger's matching rows, tenant by tenant."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from ember.activities.messages import describe
from ember.activities.paging import TenantPaging
from ember.activities.scan_types import (
    TENANTS_NOT_FOUND_LISTED,
    ScanPage,
    ScanPageRequest,
    ScanRequest,
    ScanSummary,
    TenantsRequest,
    TenantsResult,
)
from ember.activities.types import DeclarationRef
from ember.registry import naming
from ember.workflows.started import run_started_at

PAGES_PER_RUN = 100
PAGE_TIMEOUT = timedelta(minutes=10)
# The page activity heartbeats every few seconds: a page whose worker died is retried
# after this, not after PAGE_TIMEOUT (while it waits, overlap SKIP holds the next scans).
PAGE_HEARTBEAT = timedelta(seconds=15)


async def list_next_tenants(
    paging: TenantPaging,
    asked: list[str | None] | None,
    declaration: DeclarationRef,
    *,
    scheduled_action: bool = False,
    retry_policy: RetryPolicy | None = None,
) -> None:
    """Make the next page of tenants ``paging``'s page: ``asked`` once, or from ``list_tenants``."""
    if asked is not None:
        paging.page, paging.more, paging.listed = list(asked), False, len(asked)
    else:
        listed: TenantsResult = await workflow.execute_activity(
            naming.LIST_TENANTS,
            TenantsRequest(declaration, scheduled_action, after=paging.after),
            result_type=TenantsResult,
            start_to_close_timeout=PAGE_TIMEOUT,
            retry_policy=retry_policy,
        )
        paging.page, paging.after = listed.tenants, listed.next_after
        paging.more, paging.listed = listed.next_after is not None, paging.listed + listed.listed
    paging.index = 0


@workflow.defn(name=naming.SCAN_WORKFLOW)
class TriggerScanWorkflow:
    """Start one record run per matching row; continue-as-new keeps history bounded.

    Tenants come a page at a time, so the scan carries only the page at hand.
    """

    @workflow.run
    async def run(self, scan: ScanRequest) -> ScanSummary:
        """Scan every tenant from ``scan``'s position to the last page (or the record limit)."""
        policy = RetryPolicy(maximum_attempts=max(1, scan.max_attempts))
        scan = dataclasses.replace(scan, started_at=run_started_at(scan.started_at))
        paging, steps = scan.paging, 0
        while not paging.page_done or paging.more:
            try:
                if paging.page_done:
                    await list_next_tenants(paging, scan.tenants, scan.trigger, retry_policy=policy)
                else:
                    await self._page(scan, policy)
            except ActivityError as error:
                where = (
                    "listing its tenants"
                    if paging.page_done
                    else f"a page of tenant {naming.tenant_part(paging.tenant)}"
                )
                raise stopped(scan, where, error) from None
            steps += 1
            if steps >= PAGES_PER_RUN or workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(scan)
        return ScanSummary(
            scan.dispatched, paging.listed, scan.collected, scan.tenants_not_found, scan.skipped
        )

    async def _page(self, scan: ScanRequest, policy: RetryPolicy) -> None:
        """Scan one page of the tenant at hand; move to the next tenant after its last page."""
        limit = scan.batch_size
        if scan.record_limit is not None:
            limit = min(limit, scan.record_limit - scan.dispatched_for_tenant)
        page = ScanPage(0, scan.cursor, last_page=True)
        if limit > 0:
            page = await workflow.execute_activity(
                naming.SCAN_AND_DISPATCH,
                ScanPageRequest(
                    scan.trigger,
                    scan.paging.tenant,
                    scan.cursor,
                    limit,
                    scan.actor,
                    scan.collect_runs,
                    started_at=scan.started_at,
                ),
                result_type=ScanPage,
                start_to_close_timeout=PAGE_TIMEOUT,
                heartbeat_timeout=PAGE_HEARTBEAT,
                retry_policy=policy,
            )
        scan.dispatched += page.dispatched
        scan.skipped += page.skipped
        if page.started is not None:
            scan.collected.add(page.started)
        for started in page.started_by_tenant:
            scan.collected.add(started)
        if page.tenant_not_found and len(scan.tenants_not_found) < TENANTS_NOT_FOUND_LISTED:
            scan.tenants_not_found.append(naming.tenant_part(scan.paging.tenant))
        scan.dispatched_for_tenant += page.dispatched
        scan.cursor = page.cursor
        if page.last_page:
            scan.paging.index += 1
            scan.cursor, scan.dispatched_for_tenant = None, 0


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
