"""Schedule sync: one Temporal Schedule per active trigger and scheduled action, as an upsert."""

from __future__ import annotations

import hashlib
import json
from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass
from datetime import datetime
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from ember.activities.dispatch import priority, retry_spec
from ember.activities.scan_types import ScanRequest
from ember.activities.types import DeclarationRef, ScheduledRun
from ember.registry import Domain, ScheduledAction, Trigger, naming
from ember.registry.options import DEFAULT_TIME_ZONE

DIGEST_MEMO = "ember_declaration"


def scan_request(trigger: Trigger) -> ScanRequest:
    """The scan workflow input for ``trigger``."""
    options = trigger.options
    return ScanRequest(
        trigger=DeclarationRef(trigger.domain_name, trigger.resource.name, trigger.name),
        batch_size=options.stream_batch_size,
        record_limit=options.record_limit,
        max_attempts=options.max_scheduler_attempts,
    )


def scheduled_run(scheduled: ScheduledAction, *, search_attributes: bool = True) -> ScheduledRun:
    """The scheduled-action workflow input for ``scheduled``."""
    options = scheduled.options
    return ScheduledRun(
        schedule=DeclarationRef(scheduled.domain_name, scheduled.resource.name, scheduled.name),
        retry=retry_spec(options.max_attempts, options.backoff, options.timeout),
        search_attributes=search_attributes,
    )


@dataclass
class SyncReport:
    """What a sync did, by schedule id."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ScheduleRow:
    """One Ember schedule as ``schedules list`` shows it."""

    id: str
    cron: str
    timezone: str
    paused: bool
    next_run: datetime | None

    def line(self) -> str:
        """Id, cron, time zone, state and next run, in ``schedules list``'s columns."""
        state = "paused" if self.paused else "active"
        upcoming = self.next_run.isoformat(timespec="seconds") if self.next_run else "-"
        return f"{self.id:60} {self.cron:14} {self.timezone:16} {state:7} {upcoming}"


def declared_fields(value: ScanRequest | ScheduledRun) -> dict[str, Any]:
    """A workflow input's fields (as ``asdict``) without those at their default.

    The digest is taken over these, so a field added later with a default does
    not make every schedule look changed (which would reset operators' pauses).
    """
    shown = asdict(value)
    for spec in fields(value):
        if spec.default is not MISSING:
            default: Any = spec.default
        elif spec.default_factory is not MISSING:
            default = spec.default_factory()
        else:
            continue
        if is_dataclass(default) and not isinstance(default, type):
            default = asdict(default)
        if default == shown[spec.name]:
            del shown[spec.name]
    return shown


def desired_schedule(
    declaration: Trigger | ScheduledAction, task_queue_prefix: str = ""
) -> tuple[Schedule, str]:
    """The Schedule a declaration should have, and the digest that identifies it."""
    domain = declaration.domain_name
    argument: ScanRequest | ScheduledRun
    if isinstance(declaration, Trigger):
        options = declaration.options
        cron, paused = options.scheduler_cron or "", options.state == "paused"
        workflow, argument = naming.SCAN_WORKFLOW, scan_request(declaration)
        queue, level = declaration.scheduler_queue, options.scheduler_priority
    else:
        scheduled = declaration.options
        cron, paused = scheduled.cron, scheduled.state == "paused"
        workflow, argument = naming.SCHEDULED_ACTION_WORKFLOW, scheduled_run(declaration)
        queue, level = declaration.queue, scheduled.priority
    task_queue = naming.task_queue(domain, queue, task_queue_prefix)
    declared = declared_fields(argument)
    digested: list[Any] = [workflow, declared, cron, paused, task_queue, level]
    time_zone = declaration.options.timezone
    if time_zone != DEFAULT_TIME_ZONE:  # so schedules declared before the option keep theirs
        digested.append(time_zone)
    digest_source = json.dumps(digested, default=str)
    digest = hashlib.sha256(digest_source.encode()).hexdigest()[:16]
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            workflow,
            asdict(argument),
            id=declaration.schedule_id_for(task_queue_prefix),
            task_queue=task_queue,
            memo={DIGEST_MEMO: digest},
            priority=priority(level),
        ),
        spec=ScheduleSpec(cron_expressions=[cron], time_zone_name=time_zone),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
        state=ScheduleState(paused=paused, note="declared paused" if paused else None),
    )
    return schedule, digest


async def sync_schedules(client: Client, domain: Domain, task_queue_prefix: str = "") -> SyncReport:
    """Make the server's Ember schedules of ``domain`` match the registry.

    Unchanged declarations are left alone (an operator's pause survives);
    changed ones are updated, including their declared paused state; deleted
    and removed ones lose their schedule.
    """
    report = SyncReport()
    declarations: list[Trigger | ScheduledAction] = [*domain.triggers, *domain.schedules]
    wanted = {d.schedule_id_for(task_queue_prefix): d for d in declarations if d.has_schedule}
    for schedule_id, declaration in wanted.items():
        schedule, digest = desired_schedule(declaration, task_queue_prefix)
        current = await _current_digest(client, schedule_id)
        if current is None:
            await client.create_schedule(schedule_id, schedule)
            report.created.append(schedule_id)
        elif current == digest:
            report.unchanged.append(schedule_id)
        else:
            await client.get_schedule_handle(schedule_id).update(_replace_with(schedule))
            report.updated.append(schedule_id)
    known = {d.schedule_id_for(task_queue_prefix) for d in declarations}
    known |= set(await list_schedule_ids(client, domain, task_queue_prefix))
    for schedule_id in sorted(known - set(wanted)):
        if await _delete(client, schedule_id):
            report.deleted.append(schedule_id)
    return report


async def list_schedule_ids(
    client: Client, domain: Domain, task_queue_prefix: str = ""
) -> list[str]:
    """Ids of the Ember schedules of ``domain`` under ``task_queue_prefix`` the server lists."""
    prefix = naming.domain_prefix(domain.name, task_queue_prefix)
    listing = await client.list_schedules()
    return [entry.id async for entry in listing if entry.id.startswith(prefix)]


async def describe_schedules(
    client: Client, domain: Domain, task_queue_prefix: str = ""
) -> list[ScheduleRow]:
    """Every Ember schedule of ``domain`` under ``task_queue_prefix``: id, cron, time zone
    (the server's), paused, next."""
    declarations: list[Trigger | ScheduledAction] = [*domain.triggers, *domain.schedules]
    by_id = {d.schedule_id_for(task_queue_prefix): d for d in declarations}
    rows = []
    for schedule_id in sorted(await list_schedule_ids(client, domain, task_queue_prefix)):
        description = await client.get_schedule_handle(schedule_id).describe()
        declaration = by_id.get(schedule_id)
        cron = "?"
        if isinstance(declaration, Trigger):
            cron = declaration.options.scheduler_cron or "-"
        elif isinstance(declaration, ScheduledAction):
            cron = declaration.options.cron
        upcoming = description.info.next_action_times
        rows.append(
            ScheduleRow(
                schedule_id,
                cron,
                description.schedule.spec.time_zone_name or DEFAULT_TIME_ZONE,
                description.schedule.state.paused,
                upcoming[0] if upcoming else None,
            )
        )
    return rows


async def _current_digest(client: Client, schedule_id: str) -> str | None:
    try:
        description = await client.get_schedule_handle(schedule_id).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    action = description.schedule.action
    memo: Any = getattr(action, "memo", None) or {}
    value = memo.get(DIGEST_MEMO)
    if isinstance(value, Payload):
        decoded: str = client.data_converter.payload_converter.from_payload(value, str)
        return decoded
    return str(value) if value is not None else ""


def _replace_with(schedule: Schedule) -> Any:
    def update(_current: ScheduleUpdateInput) -> ScheduleUpdate:
        return ScheduleUpdate(schedule=schedule)

    return update


async def _delete(client: Client, schedule_id: str) -> bool:
    try:
        await client.get_schedule_handle(schedule_id).delete()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True
