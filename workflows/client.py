"""TriggerClient: run triggers from application code, and drain them in tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import TLSConfig

from activities.actors import actor_memo
from activities.dispatch import start_many, start_record_run
from activities.types import (
    COLLECT_LIMIT,
    ChunkOutcome,
    CollectedRuns,
    Outcome,
    ScanSummary,
    ScheduledOutcome,
)
from registry import ActorRef, Domain, Resource, ScheduledAction, Trigger, naming
from registry.actors import store_actor
from registry.signing import ANY, Scope, Signer
from registry.targets import (
    RecordLike,
    check_schema_tenant,
    record_target,
    resolve_schedule,
    resolve_trigger,
    triggers_of,
)
from workflows.drain import TriggerRunSummary, wait_for_runs
from workflows.schedules import scan_request, scheduled_run
from workflows.settings import Settings

Target = Domain | Resource | Trigger | ScheduledAction | str


class DrainTooLarge(RuntimeError):
    """A drain's scan started more runs than one drain can wait for."""


class TriggerClient:
    """Starts and signals Ember runs; wraps a ``temporalio.client.Client``.

    Args:
        client: the Temporal client (``ember.client``).
        domain: the registry whose triggers it runs (validated here).
        task_queue_prefix: the workers' ``EMBER_TASK_QUEUE_PREFIX``.
        signing_key: the workers' ``EMBER_ACTOR_SIGNING_KEY``, to sign actors.
        search_attributes: set Ember's search attributes on runs (off on the
            time-skipping test server).
        start_concurrency: starts in flight at once in bulk calls.
    """

    def __init__(
        self,
        client: Client,
        domain: Domain,
        *,
        task_queue_prefix: str = "",
        signing_key: bytes | None = None,
        search_attributes: bool = True,
        start_concurrency: int = 64,
    ) -> None:
        domain.validate()
        naming.check_prefix(task_queue_prefix, "task_queue_prefix")
        self.client = client
        self.domain = domain
        self.task_queue_prefix = task_queue_prefix
        self.signing_key = signing_key
        self.signer = Signer(signing_key)
        self.search_attributes = search_attributes
        self.start_concurrency = start_concurrency

    @classmethod
    async def connect(
        cls,
        domain: Domain,
        address: str = "localhost:7233",
        *,
        namespace: str = "default",
        tls: bool | TLSConfig | None = None,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        tls_server_ca: str | None = None,
        api_key: str | None = None,
        **options: Any,
    ) -> TriggerClient:
        """Connect to Temporal and wrap the client (``options`` as for the constructor).

        ``tls``: a ``TLSConfig``, or True/False to force TLS on or off (default:
        on with a client certificate, a server CA or an API key).
        """
        from workflows.connection import connect

        client = await connect(
            address,
            namespace=namespace,
            tls=tls,
            tls_cert=tls_cert,
            tls_key=tls_key,
            tls_server_ca=tls_server_ca,
            api_key=api_key,
        )
        return cls(client, domain, **options)

    @classmethod
    async def from_settings(cls, domain: Domain, settings: Settings) -> TriggerClient:
        """Connect with the same ``EMBER_*`` settings the worker uses."""
        from workflows.connection import connect_with

        return cls(
            await connect_with(settings),
            domain,
            task_queue_prefix=settings.task_queue_prefix,
            signing_key=settings.signing_key(),
        )

    async def run_trigger(
        self,
        record: RecordLike,
        trigger: Trigger | str,
        *,
        actor: Any = None,
        tenant: str | None = None,
        input: dict[str, Any] | None = None,
        actor_ref: ActorRef | None = None,
    ) -> WorkflowHandle[Any, Outcome]:
        """Run ``trigger`` for ``record`` now (signal-with-start).

        Starts the record's run, or signals ``run_now`` to the one already
        running (waking it if it snoozes) and returns its handle.

        Args:
            record: a model instance, or ``(Model, pk)``.
            trigger: the object ``resource.trigger(...)`` returned, or its name.
            actor: who is acting (stored as a reference in the memo).
            tenant: the record's tenant (read from the instance when omitted).
            input: action input replacing the trigger's ``action_input``.
            actor_ref: an actor given by its reference (e.g. ``{"type": "users",
                "id": 7}``) instead of ``actor``.
        """
        resolved = resolve_trigger(self.domain, trigger)
        target = record_target(resolved, record, tenant, input)
        scope = Scope.of(resolved, self.task_queue_prefix, target.tenant, target.key)
        memo: dict[str, Any] | None
        if actor_ref is not None:
            memo = self.signer.seal(actor_ref, scope)
        else:
            memo = actor_memo(resolved, actor, self.signer, scope)
        return await start_record_run(
            self.client,
            resolved,
            target.tenant,
            target.key,
            task_queue_prefix=self.task_queue_prefix,
            actor=memo,
            source="direct",
            action_input=input,
            run_now=True,
            with_attributes=self.search_attributes,
        )

    async def run_triggers(
        self,
        records: Iterable[RecordLike],
        trigger: Trigger | str,
        *,
        actor: Any = None,
        tenant: str | None = None,
        input: dict[str, Any] | None = None,
    ) -> list[WorkflowHandle[Any, Outcome]]:
        """Start (or join) runs for many records, batched with bounded concurrency.

        Every record is checked before anything starts.
        """
        resolved = resolve_trigger(self.domain, trigger)
        targets = [record_target(resolved, r, tenant, input) for r in records]
        ref = store_actor(resolved.actor_persister, resolved.path, actor)
        by_tenant: dict[str | None, list[str]] = {}
        for target in targets:
            by_tenant.setdefault(target.tenant, []).append(target.key)
        handles: list[WorkflowHandle[Any, Outcome]] = []
        for group_tenant, keys in by_tenant.items():

            def memo_for(key: str, tenant: str | None = group_tenant) -> dict[str, Any] | None:
                scope = Scope.of(resolved, self.task_queue_prefix, tenant, key)
                return None if ref is None else self.signer.seal(ref, scope)

            handles += await start_many(
                self.client,
                resolved,
                group_tenant,
                keys,
                concurrency=self.start_concurrency,
                memo_for=memo_for,
                task_queue_prefix=self.task_queue_prefix,
                source="direct",
                action_input=input,
                with_attributes=self.search_attributes,
            )
        return handles

    async def schedule(
        self, target: Trigger | ScheduledAction | str, *, tenant: str | None = None
    ) -> WorkflowHandle[Any, Any]:
        """Run a trigger's scan (or a scheduled action) now, as its schedule would."""
        return await self._start_scan(target, tenant, actor=None, collect_runs=False)

    async def schedule_and_run_triggers(
        self,
        target: Target,
        *,
        tenant: str | None = None,
        actor: Any = None,
        timeout: float = 60.0,
    ) -> TriggerRunSummary:
        """Run the scans of ``target`` now and wait for every record run they started.

        ``target`` is a domain, a resource, a trigger (object or name). Runs
        still snoozing when all others ended count as ``snoozed``; runs not
        ended after ``timeout`` seconds count as ``unfinished``.
        """
        handles: list[WorkflowHandle[Any, Any]] = []
        for trigger in triggers_of(self.domain, target):
            scan = await self._start_scan(trigger, tenant, actor=actor, collect_runs=True)
            summary: ScanSummary = await scan.result()
            if summary.collected.overflowed:
                raise DrainTooLarge(
                    f"schedule_and_run_triggers: expected a scan whose run ids fit in one "
                    f"Temporal payload ({COLLECT_LIMIT} bytes of keys), found {trigger.path} "
                    f"starting {summary.dispatched} runs; they run on, but cannot all be "
                    "waited for; fix: drain fewer records at once (tenant=..., or the "
                    "trigger's record_limit)"
                )
            handles += self._handles(trigger, summary.collected)
        return await wait_for_runs(handles, timedelta(seconds=timeout))

    def _handles(
        self, trigger: Trigger, collected: CollectedRuns
    ) -> list[WorkflowHandle[Any, Any]]:
        """Handles of the record and chunk runs a drain's scan started."""
        handles: list[WorkflowHandle[Any, Any]] = []
        names = (trigger.domain_name, trigger.resource.name, trigger.name)
        prefix = self.task_queue_prefix
        for runs in collected.tenants:
            handles += [
                self.client.get_workflow_handle(
                    trigger.workflow_id(runs.tenant, key, prefix), result_type=Outcome
                )
                for key in runs.records
            ]
            handles += [
                self.client.get_workflow_handle(
                    naming.chunk_workflow_id(*names, runs.tenant, first, last, prefix=prefix),
                    result_type=ChunkOutcome,
                )
                for first, last in runs.chunks
            ]
        return handles

    async def _start_scan(
        self,
        target: Trigger | ScheduledAction | str,
        tenant: str | None,
        *,
        actor: Any,
        collect_runs: bool,
    ) -> WorkflowHandle[Any, Any]:
        declaration = (
            resolve_schedule(self.domain, target)
            if isinstance(target, ScheduledAction)
            else resolve_trigger(self.domain, target)
        )
        if tenant is not None:
            check_schema_tenant(declaration.resource, tenant)
        tenants: list[str | None] | None = None if tenant is None else [tenant]
        names = (self.domain.name, declaration.resource.name, declaration.name)
        prefix = self.task_queue_prefix
        if isinstance(declaration, ScheduledAction):
            run = scheduled_run(declaration, with_attributes=self.search_attributes)
            run.tenants = tenants
            return await self.client.start_workflow(
                naming.SCHEDULED_ACTION_WORKFLOW,
                run,
                id=naming.scheduled_action_workflow_id(*names, tenant, prefix=prefix),
                task_queue=self._queue(declaration.queue),
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                result_type=ScheduledOutcome,
            )
        request = scan_request(declaration)
        request.tenants, request.collect_runs = tenants, collect_runs
        # Each page checks this for its tenant and signs every run it starts for its records.
        every_record = Scope.of(declaration, prefix, ANY if tenant is None else tenant)
        request.actor = actor_memo(declaration, actor, self.signer, every_record)
        scan_id = naming.scan_workflow_id(*names, tenant, prefix=prefix)
        if collect_runs:  # a drain needs its own scan, not one already running
            scan_id += f"/drain-{uuid.uuid4().hex[:12]}"
        return await self.client.start_workflow(
            naming.SCAN_WORKFLOW,
            request,
            id=scan_id,
            task_queue=self._queue(declaration.scheduler_queue),
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            result_type=ScanSummary,
        )

    def _queue(self, queue: str) -> str:
        return naming.task_queue(self.domain.name, queue, self.task_queue_prefix)
