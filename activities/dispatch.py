"""Starting record workflows: the one place their id, memo and attributes are set."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.common import (
    Priority,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)

from ember.activities.attributes import run_attributes
from ember.activities.run_ids import chunk_run_id, record_run_id
from ember.activities.run_results import RunHandle
from ember.activities.types import (
    ChunkOutcome,
    ChunkRun,
    DeclarationRef,
    Outcome,
    RecordRun,
    RetrySpec,
    RunSource,
)
from ember.registry import Backoff, Trigger, naming
from ember.registry.options import AttemptDuration
from ember.registry.pacing import longest_timeout


def retry_spec(
    max_attempts: int,
    backoff: timedelta | Backoff | AttemptDuration,
    timeout: timedelta | AttemptDuration,
    *,
    local_activity: bool = False,
) -> RetrySpec:
    """Map Ember's attempts, backoff and timeout onto a Temporal retry policy's terms.

    Functions of the attempt are evaluated by the worker (``ember.registry.pacing``): the
    policy keeps the default spacing for retries the worker cannot pace (a lost
    worker), and the longest limit of any attempt as the activity's timeout.
    """
    if isinstance(backoff, timedelta):
        initial, coefficient, maximum = backoff, 1.0, backoff
    else:
        spacing = backoff if isinstance(backoff, Backoff) else Backoff()
        initial, coefficient, maximum = spacing.initial, spacing.coefficient, spacing.maximum
    return RetrySpec(
        max_attempts=max_attempts,
        initial_seconds=initial.total_seconds(),
        coefficient=coefficient,
        maximum_seconds=maximum.total_seconds(),
        timeout_seconds=longest_timeout(timeout, max_attempts).total_seconds(),
        local_activity=local_activity,
    )


def priority(level: int) -> Priority:
    """Ember's 0 (highest) to 3 onto Temporal priority keys 1 to 4."""
    return Priority(priority_key=level + 1)


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
    if options.tags:
        details.append("**Tags** " + ", ".join(f"`{tag}`" for tag in options.tags))
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
    search_attributes: bool,
    scanned_at: float | None = None,
) -> RecordRun:
    """The record workflow's input for ``trigger`` on one record."""
    return RecordRun(
        tenant=tenant,
        record=key,
        source=source,
        input=action_input,
        search_attributes=search_attributes,
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


@dataclass(frozen=True)
class RunStart:
    """What Temporal is asked to start for one record run, as ``TriggerClient.build_run``
    shows it without starting it.

    Attributes:
        workflow: the workflow type (``ember.RecordTrigger``).
        id: the run's workflow id (with the input's digest for input of its own).
        task_queue: the Temporal task queue of the trigger's queue.
        input: the workflow input (``RecordRun``: record, tenant, source, input...).
        memo: the memo (``{"actor": <sealed reference>}``, or empty).
        search_attributes: Ember's search attributes (None when they are off).
        priority: the Temporal priority of ``worker_priority``.
        static_summary: the Temporal UI's one-line summary.
        static_details: the Temporal UI's details (markdown).
    """

    workflow: str
    id: str
    task_queue: str
    input: RecordRun
    memo: dict[str, Any]
    search_attributes: TypedSearchAttributes | None
    priority: Priority
    static_summary: str
    static_details: str

    def start_options(self) -> dict[str, Any]:
        """The keyword arguments of ``Client.start_workflow`` (besides the conflict policy)."""
        options: dict[str, Any] = {
            "id": self.id,
            "task_queue": self.task_queue,
            "id_reuse_policy": WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            "memo": self.memo,
            "priority": self.priority,
            "result_type": Outcome,
            "static_summary": self.static_summary,
            "static_details": self.static_details,
        }
        if self.search_attributes is not None:
            options["search_attributes"] = self.search_attributes
        return options


def build_record_run(
    trigger: Trigger,
    tenant: str | None,
    key: str,
    *,
    task_queue_prefix: str = "",
    actor: dict[str, Any] | None = None,
    source: RunSource = "trigger",
    action_input: dict[str, Any] | None = None,
    search_attributes: bool = True,
    scanned_at: float | None = None,
) -> RunStart:
    """The start of ``trigger``'s run for one record, not started."""
    run = record_run(
        trigger,
        tenant,
        key,
        source=source,
        action_input=action_input,
        search_attributes=search_attributes,
        scanned_at=scanned_at,
    )
    shown = ui_metadata(trigger, tenant, key, source)
    return RunStart(
        workflow=naming.RECORD_WORKFLOW,
        id=record_run_id(trigger, tenant, key, task_queue_prefix, action_input),
        task_queue=naming.task_queue(trigger.domain_name, trigger.queue, task_queue_prefix),
        input=run,
        memo={} if actor is None else {"actor": actor},
        search_attributes=(
            run_attributes(run.trigger, tenant, key, trigger.options.tags)
            if search_attributes
            else None
        ),
        priority=priority(trigger.options.worker_priority),
        static_summary=shown["static_summary"],
        static_details=shown["static_details"],
    )


async def start_record_run(
    client: Client,
    trigger: Trigger,
    tenant: str | None,
    key: str,
    *,
    run_now: bool = False,
    **options: Any,
) -> RunHandle[Outcome]:
    """Start the run of ``trigger`` for one record, or join the one already running.

    ``options`` are :func:`build_record_run`'s. With ``run_now`` this is
    signal-with-start: a running (snoozing) run is woken by the ``run_now`` signal.
    """
    start = build_record_run(trigger, tenant, key, **options)
    joining: dict[str, Any] = (
        {"start_signal": naming.RUN_NOW_SIGNAL}
        if run_now
        else {"id_conflict_policy": WorkflowIDConflictPolicy.USE_EXISTING}
    )
    handle = await client.start_workflow(
        start.workflow, start.input, **joining, **start.start_options()
    )
    return RunHandle.of(client, handle, Outcome)


async def start_many(
    client: Client,
    trigger: Trigger,
    tenant: str | None,
    keys: Iterable[str],
    *,
    concurrency: int,
    memo_for: Callable[[str], dict[str, Any] | None],
    **options: Any,
) -> list[RunHandle[Outcome]]:
    """Start (or join) runs for many records with at most ``concurrency`` starts in flight.

    ``memo_for(key)`` is the sealed actor of the record's run.
    """
    gate = asyncio.Semaphore(concurrency)

    async def start(key: str) -> RunHandle[Outcome]:
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
    search_attributes: bool = True,
) -> RunHandle[ChunkOutcome]:
    """Start (or join) one chunk run acting on ``keys``: one by one (``chunk_size`` mode),
    or all at once when the trigger's action is a bulk action."""
    run = ChunkRun(
        tenant=tenant,
        records=keys,
        search_attributes=search_attributes,
        **_failure_handling(trigger),
    )
    extra: dict[str, Any] = ui_metadata(trigger, tenant, f"{keys[0]}..{keys[-1]}", "trigger")
    if search_attributes:
        extra["search_attributes"] = run_attributes(
            run.trigger, tenant, f"{keys[0]}..{keys[-1]}", trigger.options.tags
        )
    handle = await client.start_workflow(
        naming.BULK_CHUNK_WORKFLOW if trigger.action.bulk else naming.CHUNK_WORKFLOW,
        run,
        id=chunk_run_id(trigger, tenant, keys[0], keys[-1], task_queue_prefix),
        task_queue=naming.task_queue(trigger.domain_name, trigger.queue, task_queue_prefix),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        memo={} if actor is None else {"actor": actor},
        priority=priority(trigger.options.worker_priority),
        result_type=ChunkOutcome,
        **extra,
    )
    return RunHandle.of(client, handle, ChunkOutcome)
