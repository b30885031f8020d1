"""The scan activities: list a trigger's tenants, and scan one page and start its runs."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import Any

from temporalio import activity

from activities.dispatch import RunPlan, plan_runs, start_chunk_run, start_many
from activities.heartbeat import HEARTBEAT_EVERY, heartbeating
from activities.metrics import record_scan_page
from activities.records import enter_tenant, scan_columns, scan_query
from activities.runtime import Runtime
from activities.tenants import resolve_tenants, tenant_page, tenants_with_rows
from activities.types import ScanPage, ScanPageRequest, TenantRuns, TenantsRequest, TenantsResult
from registry import Trigger, naming
from registry.keys import encode_value

logger = logging.getLogger("ember.activities")


class ScanActivities:
    """``list_tenants`` and ``scan_and_dispatch``, bound to one worker's runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    @activity.defn(name=naming.LIST_TENANTS)
    async def list_tenants(self, request: TenantsRequest) -> TenantsResult:
        """One page of the tenants a trigger or scheduled action runs for, in name order.

        A trigger's page leaves out (attribute-strategy) tenants without matching rows.
        """
        trigger: Trigger | None = None
        if request.scheduled_action:
            scheduled = self.runtime.scheduled_action(request.declaration)
            resource, declared = scheduled.resource, scheduled.options.tenants
        else:
            trigger = self.runtime.trigger(request.declaration)
            resource, declared = trigger.resource, trigger.options.list_tenants
        if not resource.is_tenanted:
            return TenantsResult([None], listed=1)
        async with self.runtime.sessions() as session:
            names = await resolve_tenants(resource, declared, session)
            page, after = tenant_page([str(name) for name in names], request.after)
            kept = page if trigger is None else await tenants_with_rows(trigger, page, session)
        return TenantsResult(list[str | None](kept), after, len(page))

    @activity.defn(name=naming.SCAN_AND_DISPATCH)
    async def scan_and_dispatch(self, request: ScanPageRequest) -> ScanPage:
        """Read one keyset page of matching keys and start (or join) a run for each."""
        started = time.monotonic()
        trigger = self.runtime.trigger(request.trigger)
        key_index = [column.key for column, _ in scan_columns(trigger)].index(
            trigger.resource.primary_key.key
        )
        async with heartbeating(HEARTBEAT_EVERY):  # a dead worker's page is retried quickly
            async with self.runtime.sessions() as session, session.begin():
                await enter_tenant(session, trigger.resource, request.tenant)
                query = scan_query(trigger, request.tenant, request.cursor, request.limit)
                rows = (await session.execute(query)).all()
            keys = [str(row[key_index]) for row in rows]
            plan = plan_runs(trigger, request.tenant, keys)
            for reason in plan.skipped:
                logger.warning("ember: a scan skipped a row: %s", reason)
            runs = await self._dispatch(trigger, request, plan)
        dispatched = len(keys) - len(plan.skipped)
        elapsed = timedelta(seconds=time.monotonic() - started)
        record_scan_page(activity.metric_meter(), trigger.name, elapsed, dispatched)
        cursor = [encode_value(value) for value in rows[-1]] if rows else request.cursor
        collected = runs if request.collect_runs else None
        last_page = len(rows) < request.limit
        return ScanPage(dispatched, cursor, last_page, collected, len(plan.skipped))

    async def _dispatch(
        self, trigger: Trigger, request: ScanPageRequest, plan: RunPlan
    ) -> TenantRuns:
        """Start the record and chunk runs of ``plan``."""
        config = self.runtime.config
        common: dict[str, Any] = {
            "task_queue_prefix": config.task_queue_prefix,
            "with_attributes": config.search_attributes,
        }
        await start_many(
            self.runtime.client,
            trigger,
            request.tenant,
            plan.records,
            concurrency=config.start_concurrency,
            memo_for=lambda _key: request.actor,  # signed for every record of the trigger
            source="trigger",
            scanned_at=time.time(),
            **common,
        )
        await asyncio.gather(
            *(
                start_chunk_run(
                    self.runtime.client,
                    trigger,
                    request.tenant,
                    chunk,
                    actor=request.actor,
                    **common,
                )
                for chunk in plan.chunks
            )
        )
        chunks = [[chunk[0], chunk[-1]] for chunk in plan.chunks]
        return TenantRuns(request.tenant, records=plan.records, chunks=chunks)
