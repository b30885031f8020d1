"""TriggerScanWorkflow: page through a trigger's matching rows, tenant by tenant."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.types import (
        TENANTS_NOT_FOUND_LISTED,
        ScanPage,
        ScanPageRequest,
        ScanRequest,
        ScanSummary,
        TenantsRequest,
        TenantsResult,
    )
    from registry import naming
    from workflows.started import run_started_at

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
        policy = RetryPolicy(maximum_attempts=scan.max_attempts)
        scan = dataclasses.replace(scan, started_at=run_started_at(scan.started_at))
        if scan.tenants is None:
            listed: TenantsResult = await workflow.execute_activity(
                naming.LIST_TENANTS,
                TenantsRequest(scan.trigger),
                result_type=TenantsResult,
                start_to_close_timeout=PAGE_TIMEOUT,
                retry_policy=policy,
            )
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
                page = await workflow.execute_activity(
                    naming.SCAN_AND_DISPATCH,
                    ScanPageRequest(
                        scan.trigger,
                        tenant,
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
            if page.started is not None:
                scan.collected.add(page.started)
            for started in page.started_by_tenant:
                scan.collected.add(started)
            if page.tenant_not_found and len(scan.tenants_not_found) < TENANTS_NOT_FOUND_LISTED:
                scan.tenants_not_found.append(naming.tenant_part(tenant))
            scan.dispatched_for_tenant += page.dispatched
            scan.cursor = page.cursor
            if page.last_page:
                scan.tenant_index += 1
                scan.cursor, scan.dispatched_for_tenant = None, 0
            pages += 1
            if pages >= PAGES_PER_RUN or workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(scan)
        return ScanSummary(scan.dispatched, len(tenants), scan.collected, scan.tenants_not_found)
