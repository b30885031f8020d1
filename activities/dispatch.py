"""Starting record workflows: the one place their id, memo and attributes are set."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    Priority,
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)

from activities.types import (
    ChunkOutcome,
    ChunkRun,
    DeclarationRef,
    Outcome,
    RecordRun,
    RetrySpec,
    RunSource,
)
from registry import Backoff, Trigger, naming

TRIGGER_KEY = SearchAttributeKey.for_keyword(naming.TRIGGER_ATTRIBUTE)
RESOURCE_KEY = SearchAttributeKey.for_keyword(naming.RESOURCE_ATTRIBUTE)
TENANT_KEY = SearchAttributeKey.for_keyword(naming.TENANT_ATTRIBUTE)
RECORD_KEY = SearchAttributeKey.for_keyword(naming.RECORD_ATTRIBUTE)
OUTCOME_KEY = SearchAttributeKey.for_keyword(naming.OUTCOME_ATTRIBUTE)


def retry_spec(
    max_attempts: int,
    backoff: timedelta | Backoff,
    timeout: timedelta,
    *,
    local_activity: bool = False,
) -> RetrySpec:
    """Map Ember's attempts, backoff and timeout onto a Temporal retry policy's terms."""
    if isinstance(backoff, timedelta):
        initial, coefficient, maximum = backoff, 1.0, backoff
    else:
        initial, coefficient, maximum = backoff.initial, backoff.coefficient, backoff.maximum
    return RetrySpec(
        max_attempts=max_attempts,
        initial_seconds=initial.total_seconds(),
        coefficient=coefficient,
        maximum_seconds=maximum.total_seconds(),
        timeout_seconds=timeout.total_seconds(),
        local_activity=local_activity,
    )


def priority(level: int) -> Priority:
    """Ember's 0 (highest) to 3 onto Temporal priority keys 1 to 4."""
    return Priority(priority_key=level + 1)


def search_attributes(
    declaration: DeclarationRef, tenant: str | None, record: str
) -> TypedSearchAttributes:
    """The Keyword attributes that make a run findable in the Temporal UI."""
    return TypedSearchAttributes(
        [
            SearchAttributePair(TRIGGER_KEY, declaration.name),
            SearchAttributePair(RESOURCE_KEY, declaration.resource),
            SearchAttributePair(TENANT_KEY, naming.tenant_part(tenant)),
            SearchAttributePair(RECORD_KEY, record),
        ]
    )


def ui_metadata(
    trigger: Trigger, tenant: str | None, record: str, source: RunSource
) -> dict[str, str]:
    """The Temporal UI's summary line and details (markdown) of one run."""
    options = trigger.options
    tenant_text = "" if tenant is None else f" ({tenant})"
    details = [
        f"**Trigger** `{trigger.resource.name}.{trigger.name}` runs `{options.action}`",
        f"**Record** `{record}`",
        f"**Tenant** `{naming.tenant_part(tenant)}`",
        f"**Started by** {source}",
        f"**Queue** `{trigger.queue}`, up to {options.max_attempts} attempts"
        + (f", on_error `{options.on_error}`" if options.on_error else ""),
    ]
    return {
        "static_summary": f"{trigger.resource.name}.{trigger.name} {record}{tenant_text}",
        "static_details": "\n\n".join(details),
    }


def record_run(
    trigger: Trigger,
    tenant: str | None,
    key: str,
    *,
    source: RunSource,
    action_input: dict[str, Any] | None,
    with_attributes: bool,
    scanned_at: float | None = None,
) -> RecordRun:
    """The record workflow's input for ``trigger`` on one record."""
    return RecordRun(
        tenant=tenant,
        record=key,
        source=source,
        input=action_input,
        set_outcome_attribute=with_attributes,
        scanned_at=scanned_at,
        **_failure_handling(trigger),
    )


def _failure_handling(trigger: Trigger) -> dict[str, Any]:
    """The run inputs every record and chunk run takes from its trigger."""
    options = trigger.options
    return {
        "trigger": DeclarationRef(trigger.domain_name, trigger.resource.name, trigger.name),
        "retry": retry_spec(
            options.max_attempts,
            options.backoff,
            options.timeout,
            local_activity=options.local_activity,
        ),
        "has_on_error": options.on_error is not None,
        "on_error_fails_job": options.on_error_fails_job,
    }


async def start_record_run(
    client: Client,
    trigger: Trigger,
    tenant: str | None,
    key: str,
    *,
    task_queue_prefix: str = "",
    actor: dict[str, Any] | None = None,
    source: RunSource = "trigger",
    action_input: dict[str, Any] | None = None,
    run_now: bool = False,
    with_attributes: bool = True,
    scanned_at: float | None = None,
) -> WorkflowHandle[Any, Outcome]:
    """Start the run of ``trigger`` for one record, or join the one already running.

    With ``run_now`` this is signal-with-start: a running (snoozing) run is
    woken by the ``run_now`` signal.
    """
    run = record_run(
        trigger,
        tenant,
        key,
        source=source,
        action_input=action_input,
        with_attributes=with_attributes,
        scanned_at=scanned_at,
    )
    common: dict[str, Any] = {
        "id": trigger.workflow_id(tenant, key, task_queue_prefix),
        "task_queue": naming.task_queue(trigger.domain_name, trigger.queue, task_queue_prefix),
        "id_reuse_policy": WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        "memo": {} if actor is None else {"actor": actor},
        "priority": priority(trigger.options.worker_priority),
        "result_type": Outcome,
        **ui_metadata(trigger, tenant, key, source),
    }
    if with_attributes:
        common["search_attributes"] = search_attributes(run.trigger, tenant, key)
    if run_now:
        return await client.start_workflow(
            naming.RECORD_WORKFLOW, run, start_signal=naming.RUN_NOW_SIGNAL, **common
        )
    return await client.start_workflow(
        naming.RECORD_WORKFLOW,
        run,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        **common,
    )


async def start_many(
    client: Client,
    trigger: Trigger,
    tenant: str | None,
    keys: Iterable[str],
    *,
    concurrency: int,
    memo_for: Callable[[str], dict[str, Any] | None],
    **options: Any,
) -> list[WorkflowHandle[Any, Outcome]]:
    """Start (or join) runs for many records with at most ``concurrency`` starts in flight.

    ``memo_for(key)`` is the sealed actor of the record's run.
    """
    gate = asyncio.Semaphore(concurrency)

    async def start(key: str) -> WorkflowHandle[Any, Outcome]:
        async with gate:
            return await start_record_run(
                client, trigger, tenant, key, actor=memo_for(key), **options
            )

    return list(await asyncio.gather(*(start(key) for key in keys)))


async def start_chunk_run(
    client: Client,
    trigger: Trigger,
    tenant: str | None,
    keys: list[str],
    *,
    task_queue_prefix: str = "",
    actor: dict[str, Any] | None = None,
    with_attributes: bool = True,
) -> WorkflowHandle[Any, ChunkOutcome]:
    """Start (or join) one chunk run acting on ``keys``: one by one (``chunk_size`` mode),
    or all at once when the trigger's action is a bulk action."""
    run = ChunkRun(
        tenant=tenant,
        records=keys,
        set_outcome_attribute=with_attributes,
        **_failure_handling(trigger),
    )
    extra: dict[str, Any] = ui_metadata(trigger, tenant, f"{keys[0]}..{keys[-1]}", "trigger")
    if with_attributes:
        extra["search_attributes"] = search_attributes(
            run.trigger, tenant, f"{keys[0]}..{keys[-1]}"
        )
    return await client.start_workflow(
        naming.BULK_CHUNK_WORKFLOW if trigger.action.bulk else naming.CHUNK_WORKFLOW,
        run,
        id=naming.chunk_workflow_id(
            trigger.domain_name,
            trigger.resource.name,
            trigger.name,
            tenant,
            keys[0],
            keys[-1],
            prefix=task_queue_prefix,
        ),
        task_queue=naming.task_queue(trigger.domain_name, trigger.queue, task_queue_prefix),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        memo={} if actor is None else {"actor": actor},
        priority=priority(trigger.options.worker_priority),
        result_type=ChunkOutcome,
        **extra,
    )
