"""A schedule's digest: what makes sync update it (and reset an operator's pause)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ember.registry import ActionContext, Domain, ScheduledAction, Trigger, naming
from ember.workflows.schedule_sync import declared_fields, desired_schedule, scan_request
from examples.helpdesk.models import Ticket


async def escalate(ticket: Ticket, ctx: ActionContext) -> None:
    """The trigger's action."""


async def digest(ctx: ActionContext) -> None:
    """The scheduled action's action."""


def declare(**options: str) -> tuple[Trigger, ScheduledAction]:
    tickets = Domain("zones").resource(Ticket)
    tickets.action(escalate)
    tickets.action(digest)
    trigger = tickets.trigger("t", action=escalate, scheduler_cron="0 9 * * *", **options)
    scheduled = tickets.schedule("s", cron="@daily", action=digest, **options)
    return trigger, scheduled


def test_the_default_time_zone_keeps_the_digest_schedules_had_before_the_option() -> None:
    trigger, _ = declare()
    schedule, digest_now = desired_schedule(trigger)
    task_queue = naming.task_queue("zones", "tickets")
    fields = declared_fields(scan_request(trigger))
    before: list[Any] = [naming.SCAN_WORKFLOW, fields, "0 9 * * *", False, task_queue, 2]
    assert digest_now == hashlib.sha256(json.dumps(before).encode()).hexdigest()[:16]
    assert schedule.spec.time_zone_name == "UTC"


def test_a_time_zone_reaches_the_schedule_and_changes_its_digest() -> None:
    pairs: list[tuple[Trigger | ScheduledAction, Trigger | ScheduledAction]] = list(
        zip(declare(), declare(timezone="Europe/Paris"), strict=True)
    )
    for utc, paris in pairs:
        schedule, paris_digest = desired_schedule(paris)
        assert schedule.spec.time_zone_name == "Europe/Paris"
        assert paris_digest != desired_schedule(utc)[1]
