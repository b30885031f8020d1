"""Starting a trigger's scan or a scheduled action's run now, for a ``TriggerClient``."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from temporalio.client import WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy

from ember.activities.actors import actor_memo
from ember.activities.scan_types import ScanSummary
from ember.activities.types import ScheduledOutcome
from ember.registry import ScheduledAction, Trigger, naming
from ember.registry.signing import ANY, Scope
from ember.registry.targets import check_input, check_schema_tenant, resolve_schedule
from ember.workflows.schedule_sync import scan_request, scheduled_run

if TYPE_CHECKING:
    from ember.workflows.client import TriggerClient


async def start_scheduled_run(
    ember: TriggerClient,
    scheduled: ScheduledAction,
    tenant: str | None,
    *,
    actor: Any,
    input: dict[str, Any] | None = None,
) -> WorkflowHandle[Any, ScheduledOutcome]:
    declaration = resolve_schedule(ember.domain, scheduled)
    check_tenant(declaration, tenant)
    if input is not None:
        check_input(declaration, input)
    run = scheduled_run(declaration, search_attributes=ember.search_attributes)
    run.tenants = None if tenant is None else [tenant]
    run.input = input
    scope = Scope.of(declaration, ember.task_queue_prefix, ANY if tenant is None else tenant)
    memo = actor_memo(declaration, actor, ember.signer, scope)
    return await ember.client.start_workflow(
        naming.SCHEDULED_ACTION_WORKFLOW,
        run,
        id=naming.scheduled_action_workflow_id(
            *declaration_names(declaration),
            tenant,
            prefix=ember.task_queue_prefix,
            action_input=declaration.distinct_input(input),
        ),
        task_queue=ember.queue_name(declaration.queue),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        memo={} if memo is None else {"actor": memo},
        result_type=ScheduledOutcome,
    )


async def start_scan_run(
    ember: TriggerClient, trigger: Trigger, tenant: str | None, *, actor: Any, collect_runs: bool
) -> WorkflowHandle[Any, ScanSummary]:
    check_tenant(trigger, tenant)
    prefix = ember.task_queue_prefix
    request = scan_request(trigger)
    request.tenants = None if tenant is None else [tenant]
    request.collect_runs = collect_runs
    # Each page checks this for its tenant and signs every run it starts for its records.
    every_record = Scope.of(trigger, prefix, ANY if tenant is None else tenant)
    request.actor = actor_memo(trigger, actor, ember.signer, every_record)
    scan_id = naming.scan_workflow_id(*declaration_names(trigger), tenant, prefix=prefix)
    if collect_runs:  # a drain needs its own scan, not one already running
        scan_id += f"/drain-{uuid.uuid4().hex[:12]}"
    return await ember.client.start_workflow(
        naming.SCAN_WORKFLOW,
        request,
        id=scan_id,
        task_queue=ember.queue_name(trigger.scheduler_queue),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        result_type=ScanSummary,
    )


def check_tenant(declaration: Trigger | ScheduledAction, tenant: str | None) -> None:
    """A tenant named for a schema-tenanted declaration must be one that can exist."""
    if tenant is not None:
        check_schema_tenant(declaration.resource, tenant)


def declaration_names(declaration: Trigger | ScheduledAction) -> tuple[str, str, str]:
    """The domain, resource and name parts of ``declaration``'s ids."""
    return (declaration.domain_name, declaration.resource.name, declaration.name)
