"""The scan activities: list a trigger's tenants, and scan one page and start its runs."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from ember.activities.dispatch import start_chunk_run, start_many
from ember.activities.heartbeat import HEARTBEAT_EVERY, heartbeating
from ember.activities.metrics import record_scan_page
from ember.activities.records import enter_tenant, run_tenant_column, scan_columns, scan_query
from ember.activities.run_ids import RunPlan, plan_runs
from ember.activities.runtime import WorkerRuntime
from ember.activities.scan_types import (
    ScanPage,
    ScanPageRequest,
    TenantRuns,
    TenantsRequest,
    TenantsResult,
)
from ember.activities.tenants import resolve_tenants, tenant_page, tenants_with_rows
from ember.activities.types import ACTOR_ERROR
from ember.registry import ActorNotFound, ActorRef, Trigger, naming
from ember.registry.keys import encode_value
from ember.registry.signing import Records, Scope
from ember.registry.tenancy import TenantNotFound

logger = logging.getLogger("ember.activities")


class ScanActivities:
    """``list_tenants`` and ``scan_and_dispatch``, bound to one worker's runtime."""

    def __init__(self, runtime: WorkerRuntime) -> None:
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
            page, after = tenant_page(names, request.after)
            kept = page if trigger is None else await tenants_with_rows(trigger, page, session)
        return TenantsResult(list[str | None](kept), after, len(page))

    @activity.defn(name=naming.SCAN_AND_DISPATCH)
    async def scan_and_dispatch(self, request: ScanPageRequest) -> ScanPage:
        """Read one keyset page of matching keys and start (or join) a run for each."""
        started = time.monotonic()
        trigger = self.runtime.trigger(request.trigger)
        if trigger.inactive_reason is not None:  # a paused or deleted trigger starts no runs
            logger.info("ember: %s not scanned: %s", trigger.path, trigger.inactive_reason)
            return ScanPage(0, None, last_page=True)
        actor = self._scan_actor(trigger, request)
        order = [column.key for column, _ in scan_columns(trigger)]
        key_index = order.index(trigger.resource.primary_key.key)
        from_records = run_tenant_column(trigger, request.tenant) is not None
        async with heartbeating(HEARTBEAT_EVERY):  # a dead worker's page is retried quickly
            async with self.runtime.sessions() as session, session.begin():
                try:
                    await enter_tenant(session, trigger.resource, request.tenant)
                except TenantNotFound as missing:
                    logger.warning("ember: %s not scanned: %s", trigger.path, missing)
                    return ScanPage(0, None, last_page=True, tenant_not_found=True)
                query = scan_query(trigger, request.tenant, request.cursor, request.limit)
                rows = (await session.execute(query)).all()
            by_tenant: dict[str | None, list[str]] = {}
            for row in rows:  # a run's tenant: the scan's, or in the global scope its row's
                tenant = _tenant_text(row[-1]) if from_records else request.tenant
                by_tenant.setdefault(tenant, []).append(str(row[key_index]))
            runs: list[TenantRuns] = []
            skipped = 0
            for tenant, keys in by_tenant.items():
                plan = plan_runs(trigger, tenant, keys, self.runtime.config.task_queue_prefix)
                for reason in plan.skipped:
                    logger.warning("ember: a scan skipped a row: %s", reason)
                skipped += len(plan.skipped)
                runs.append(await self._dispatch(trigger, tenant, plan, actor))
        dispatched = len(rows) - skipped
        elapsed = timedelta(seconds=time.monotonic() - started)
        record_scan_page(activity.metric_meter(), trigger.name, elapsed, dispatched)
        last = rows[-1][: len(order)] if rows else None
        cursor = [encode_value(value) for value in last] if last else request.cursor
        page = ScanPage(dispatched, cursor, len(rows) < request.limit, skipped=skipped)
        if request.collect_runs and from_records:
            page.started_by_tenant = runs
        elif request.collect_runs:
            page.started = runs[0] if runs else TenantRuns(request.tenant)
        return page

    def _scan_actor(self, trigger: Trigger, request: ScanPageRequest) -> ActorRef | None:
        """The scan's actor, checked for this page's tenant and the scan's start.

        Raises:
            ApplicationError: (not retryable) the scan's reference is refused.
        """
        if request.actor is None:
            return None
        config = self.runtime.config
        scope = Scope.of(trigger, config.task_queue_prefix, request.tenant)
        try:
            return config.signer.unseal(request.actor, scope, started_at=request.started_at)
        except ActorNotFound as refused:
            raise ApplicationError(str(refused), type=ACTOR_ERROR, non_retryable=True) from None

    async def _dispatch(
        self,
        trigger: Trigger,
        tenant: str | None,
        plan: RunPlan,
        actor: ActorRef | None,
    ) -> TenantRuns:
        """Start the record and chunk runs of ``plan``, for ``tenant``.

        Each run's actor is signed for its own records (and their tenant) only.
        """
        config = self.runtime.config

        def sealed_for(records: Records) -> dict[str, Any] | None:
            if actor is None:
                return None
            scope = Scope.of(trigger, config.task_queue_prefix, tenant, records)
            return config.signer.seal(actor, scope)

        common: dict[str, Any] = {
            "task_queue_prefix": config.task_queue_prefix,
            "search_attributes": config.search_attributes,
        }
        await start_many(
            self.runtime.client,
            trigger,
            tenant,
            plan.records,
            concurrency=config.start_concurrency,
            memo_for=sealed_for,
            source="trigger",
            scanned_at=time.time(),
            **common,
        )
        await asyncio.gather(
            *(
                start_chunk_run(
                    self.runtime.client,
                    trigger,
                    tenant,
                    chunk,
                    actor=sealed_for(tuple(chunk)),
                    **common,
                )
                for chunk in plan.chunks
            )
        )
        chunks = [[chunk[0], chunk[-1]] for chunk in plan.chunks]
        return TenantRuns(tenant, records=plan.records, chunks=chunks)


def _tenant_text(value: Any) -> str | None:
    """A row's tenant column value as a run's tenant (None stays None)."""
    return None if value is None else str(value)
