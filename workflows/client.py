"""TriggerClient: run triggers from application code, and drain them in tests."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.service import TLSConfig

from ember.activities.actors import actor_memo
from ember.activities.dispatch import RunStart, build_record_run, start_many
from ember.activities.run_ids import record_run_id
from ember.activities.run_results import RunHandle
from ember.activities.scan_types import ScanSummary
from ember.activities.types import Outcome
from ember.registry import ActorRef, Domain, Resource, ScheduledAction, Trigger, naming
from ember.registry.actors import store_actor
from ember.registry.lookup import record_model
from ember.registry.signing import Scope, Signer
from ember.registry.targets import (
    RecordLike,
    drained,
    record_target,
    resolve_trigger,
)
from ember.workflows.drain import TriggerRunSummary, scan_handles, wait_for_runs
from ember.workflows.scans import start_scan_run, start_scheduled_run
from ember.workflows.settings import Settings

Target = Domain | Resource | Trigger | ScheduledAction | str
DrainTarget = Target | Sequence[Target]


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
        from ember.workflows.connection import connect

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
    async def from_settings(
        cls, domain: Domain, settings: Settings, *, client: Client | None = None, **options: Any
    ) -> TriggerClient:
        """A client matching workers run with ``settings`` (task queue prefix, signing key).

        ``client``: an existing Temporal client, else one connected with the settings;
        ``options`` as for the constructor.
        """
        from ember.workflows.connection import connect_with

        return cls(
            client or await connect_with(settings),
            domain,
            task_queue_prefix=settings.task_queue_prefix,
            signing_key=settings.signing_key(),
            **options,
        )

    def build_run(
        self,
        record: RecordLike,
        trigger: Trigger | str,
        *,
        actor: Any = None,
        tenant: str | None = None,
        input: dict[str, Any] | None = None,
        actor_ref: ActorRef | None = None,
    ) -> RunStart:
        """What ``run_trigger`` would start, without starting it (AshOban's ``build_trigger``).

        Checks everything ``run_trigger`` checks and returns the workflow id, task
        queue, input, memo and search attributes, for inspection and tests.
        """
        resolved = resolve_trigger(self.domain, trigger, record_model(record))
        target = record_target(resolved, record, tenant, input)
        scope = Scope.of(resolved, self.task_queue_prefix, target.tenant, target.key)
        memo: dict[str, Any] | None
        if actor_ref is not None:
            memo = self.signer.seal(actor_ref, scope)
        else:
            memo = actor_memo(resolved, actor, self.signer, scope)
        return build_record_run(
            resolved,
            target.tenant,
            target.key,
            task_queue_prefix=self.task_queue_prefix,
            actor=memo,
            source="direct",
            action_input=input,
            search_attributes=self.search_attributes,
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
    ) -> RunHandle[Outcome]:
        """Run ``trigger`` for ``record`` now (signal-with-start).

        Starts the record's run, or signals ``run_now`` to the one already
        running with the same input (waking it if it snoozes) and returns its handle.
        ``await handle.result()`` gives the run's ``Outcome``, also for a run that
        ended ``failed`` or ``discarded`` (Temporal status Failed).

        Args:
            record: a model instance, or ``(Model, pk)``.
            trigger: the object ``resource.trigger(...)`` returned, or its name
                (``"escalate"`` or ``"tickets.escalate"``; a name several resources
                share picks the record's), as ``enqueue_trigger`` takes.
            actor: who is acting (stored as a reference in the memo).
            tenant: the record's tenant (read from the instance when omitted).
            input: action input merged over the trigger's ``action_input`` (its
                keys win). A run whose input differs from the trigger's own has an
                id of its own (``.../input-<digest>``): it never joins a run with
                other input, and joins one with the same.
            actor_ref: an actor given by its reference (e.g. ``{"type": "users",
                "id": 7}``) instead of ``actor``.

        Raises ``RunIdTooLong`` (a ``ValueError``) when the record's run id would
        pass Temporal's id limit, before anything starts.
        Raises:
            DeclarationDeleted: the trigger is declared ``state="deleted"``.
        """
        start = self.build_run(
            record, trigger, actor=actor, tenant=tenant, input=input, actor_ref=actor_ref
        )
        handle = await self.client.start_workflow(
            start.workflow,
            start.input,
            start_signal=naming.RUN_NOW_SIGNAL,
            **start.start_options(),
        )
        return RunHandle.of(self.client, handle, Outcome)

    async def run_triggers(
        self,
        records: Iterable[RecordLike],
        trigger: Trigger | str,
        *,
        actor: Any = None,
        tenant: str | None = None,
        input: dict[str, Any] | None = None,
    ) -> list[RunHandle[Outcome]]:
        """Start (or join) runs for many records, batched with bounded concurrency.

        Every record is checked before anything starts (``RunIdTooLong``: a
        record whose run id would pass Temporal's id limit); ``input`` as in ``run_trigger``.
        """
        records = list(records)
        model = record_model(records[0]) if records else None
        resolved = resolve_trigger(self.domain, trigger, model)
        targets = [record_target(resolved, r, tenant, input) for r in records]
        for target in targets:
            record_run_id(resolved, target.tenant, target.key, self.task_queue_prefix, input)
        ref = store_actor(resolved.actor_persister, resolved.path, actor)
        by_tenant: dict[str | None, list[str]] = {}
        for target in targets:
            by_tenant.setdefault(target.tenant, []).append(target.key)
        handles: list[RunHandle[Outcome]] = []
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
                search_attributes=self.search_attributes,
            )
        return handles

    async def schedule(
        self,
        target: Trigger | ScheduledAction | str,
        *,
        tenant: str | None = None,
        actor: Any = None,
        input: dict[str, Any] | None = None,
    ) -> WorkflowHandle[Any, Any]:
        """Deprecated name of :meth:`start_scan` (it schedules nothing); removed in 0.3."""
        warnings.warn(
            "TriggerClient.schedule() is deprecated: it starts a scan now and schedules "
            "nothing; use TriggerClient.start_scan()",
            DeprecationWarning,
            stacklevel=2,
        )
        return await self.start_scan(target, tenant=tenant, actor=actor, input=input)

    async def start_scan(
        self,
        target: Trigger | ScheduledAction | str,
        *,
        tenant: str | None = None,
        actor: Any = None,
        input: dict[str, Any] | None = None,
    ) -> WorkflowHandle[Any, Any]:
        """Run a trigger's scan (or a scheduled action) now, as its schedule would
        (AshOban's ``schedule/3``).

        Args:
            target: a trigger (object or name) or a scheduled action.
            tenant: only this tenant (default: every tenant, as the schedule).
            actor: who is acting: the scan signs it into every run it starts; a
                scheduled action runs as it.
            input: a scheduled action's input, merged over its ``action_input``
                (a run with input of its own has its own id). A scan's runs take
                their trigger's ``action_input``: give a trigger input through
                ``run_trigger`` / ``run_triggers``.

        Raises:
            DeclarationDeleted: the target is declared ``state="deleted"``.
        """
        if isinstance(target, ScheduledAction):
            return await start_scheduled_run(self, target, tenant, actor=actor, input=input)
        trigger = resolve_trigger(self.domain, target)
        if input is not None:
            raise ValueError(
                f"input: expected none for trigger {trigger.path} (a scan's runs take its "
                f"action_input), found {input!r}; fix: pass input to run_trigger or "
                "run_triggers, or declare it as the trigger's action_input"
            )
        return await start_scan_run(self, trigger, tenant, actor=actor, collect_runs=False)

    async def schedule_and_run_triggers(
        self,
        target: DrainTarget,
        *,
        tenant: str | None = None,
        actor: Any = None,
        timeout: float = 60.0,
        triggers: bool = True,
        scheduled_actions: bool = False,
        with_scheduled: bool = False,
    ) -> TriggerRunSummary:
        """Run the scans of ``target`` now and wait for every record run they started.

        ``target`` is a domain, a resource, a trigger (object or name), a
        scheduled action, or a list of these. A domain or resource drains its
        active triggers that have a ``scheduler_cron`` (``triggers``) and its
        active scheduled actions (``scheduled_actions``), as AshOban's drains;
        a trigger or scheduled action named explicitly always drains (a paused
        one runs nothing, a deleted one is refused). Scheduled-action runs count
        once per tenant. Runs still snoozing when all others ended count as
        ``snoozed`` (unless ``with_scheduled``: then they are waited for, as
        Oban's ``with_scheduled``); runs not ended after ``timeout`` seconds count
        as ``unfinished``; rows the scans could start no run for as ``skipped``.
        """
        handles: list[WorkflowHandle[Any, Any]] = []
        skipped = 0
        chosen = drained(
            self.domain, target, triggers=triggers, scheduled_actions=scheduled_actions
        )
        for declaration in chosen:
            if isinstance(declaration, ScheduledAction):
                handles.append(await start_scheduled_run(self, declaration, tenant, actor=actor))
                continue
            scan = await start_scan_run(self, declaration, tenant, actor=actor, collect_runs=True)
            summary: ScanSummary = await scan.result()
            handles += scan_handles(self.client, declaration, summary, self.task_queue_prefix)
            skipped += summary.skipped
        waited = await wait_for_runs(
            handles, timedelta(seconds=timeout), with_scheduled=with_scheduled
        )
        return dataclasses.replace(waited, skipped=skipped)

    def queue_name(self, queue: str) -> str:
        """The Temporal task queue of Ember queue ``queue`` (with this client's prefix)."""
        return naming.task_queue(self.domain.name, queue, self.task_queue_prefix)
