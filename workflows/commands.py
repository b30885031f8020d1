"""The command line's verbs that talk to Temporal (``schedules``, ``trigger run``,
``status``), and its wording of the client's errors."""

from __future__ import annotations

import argparse
import json
import re
from typing import Any

from temporalio.client import Client, WorkflowFailureError

from activities.runtime import create_engine
from activities.types import Outcome
from registry import Domain, InvalidArgument, ScheduledAction, Trigger, UnknownDeclaration
from workflows.client import TriggerClient
from workflows.drain import ended_without_outcome
from workflows.schedules import describe_schedules, sync_schedules
from workflows.settings import Settings
from workflows.startup import database_errors
from workflows.status import domain_status, outbox_line


def declaration_named(domain: Domain, resource_name: str, name: str) -> Trigger | ScheduledAction:
    """The trigger or scheduled action ``name`` of ``resource_name``.

    Raises:
        UnknownDeclaration: no such resource, or no such name on it (the known ones listed).
    """
    resource = domain.get_resource(resource_name)
    declaration = resource.triggers.get(name) or resource.schedules.get(name)
    if declaration is None:
        known = ", ".join(sorted([*resource.triggers, *resource.schedules])) or "none"
        raise UnknownDeclaration(
            f"name: expected one of ({known}) on {resource_name!r}, found {name!r}"
        )
    return declaration


def check_arguments(args: argparse.Namespace, domain: Domain) -> None:
    """Resolve the resource and trigger or schedule names given, or raise naming the known ones."""
    if args.command == "trigger":
        domain.get_trigger(args.resource, args.trigger)
    elif args.command == "schedules" and args.schedule_command not in ("list", "sync"):
        declaration_named(domain, args.resource, args.name)


async def schedules_command(
    args: argparse.Namespace, domain: Domain, settings: Settings, client: Client
) -> int:
    """``schedules list|sync|pause|unpause|trigger-now``."""
    verb = args.schedule_command
    if verb == "list":
        rows = await describe_schedules(client, domain, settings.task_queue_prefix)
        print(f"{'SCHEDULE':60} {'CRON':14} {'TIMEZONE':16} {'STATE':7} NEXT RUN")
        for row in rows:
            state = "paused" if row.paused else "active"
            upcoming = row.next_run.isoformat(timespec="seconds") if row.next_run else "-"
            print(f"{row.id:60} {row.cron:14} {row.timezone:16} {state:7} {upcoming}")
        return 0
    if verb == "sync":
        report = await sync_schedules(client, domain, settings.task_queue_prefix)
        for label in ("created", "updated", "unchanged", "deleted"):
            for schedule_id in getattr(report, label):
                print(f"{label:9} {schedule_id}")
        return 0
    declaration = declaration_named(domain, args.resource, args.name)
    schedule_id = declaration.schedule_id_for(settings.task_queue_prefix)
    handle = client.get_schedule_handle(schedule_id)
    if verb == "pause":
        await handle.pause(note="paused with worker.py schedules pause")
    elif verb == "unpause":
        await handle.unpause(note="unpaused with worker.py schedules unpause")
    else:
        await handle.trigger()
    print(f"{verb}: {schedule_id}")
    return 0


def actor_ref_option(value: str | None) -> dict[str, Any] | None:
    """``--actor-ref``'s JSON object, or None when not given."""
    if value is None:
        return None
    try:
        ref = json.loads(value)
    except json.JSONDecodeError as error:
        found = f"{value!r} ({error})"
    else:
        if isinstance(ref, dict):
            return ref
        found = f"{value!r}, a JSON {type(ref).__name__}"
    raise InvalidArgument(
        f'--actor-ref: expected a JSON object such as \'{{"type": "users", "id": 7}}\', '
        f"found {found}; fix: pass the reference the resource's actor persister stores"
    )


def outcome_line(outcome: Outcome) -> str:
    """``succeeded``, ``discarded: forbidden``, ``failed: RuntimeError: boom``..."""
    error = f"{outcome.error.type}: {outcome.error.message}" if outcome.error else None
    if outcome.reason and error and outcome.error and outcome.error.message != outcome.reason:
        return f"{outcome.status}: {outcome.reason} ({error})"
    detail = outcome.reason or error
    return f"{outcome.status}: {detail}" if detail else outcome.status


async def trigger_command(
    args: argparse.Namespace, domain: Domain, settings: Settings, client: Client
) -> int:
    """``trigger run <resource> <trigger> <pk>``; with ``--wait``, 0 only if it succeeded."""
    trigger = domain.get_trigger(args.resource, args.trigger)
    ember = await TriggerClient.from_settings(domain, settings, client=client)
    record = (trigger.resource.model, args.pk)
    actor_ref = actor_ref_option(args.actor_ref)
    handle = await ember.run_trigger(record, trigger, tenant=args.tenant, actor_ref=actor_ref)
    print(f"started {handle.id}")
    if not args.wait:
        return 0
    try:
        outcome = await handle.result()
    except WorkflowFailureError as error:  # cancelled or terminated through Temporal
        outcome = ended_without_outcome(error)
    print(f"outcome {outcome_line(outcome)} after {outcome.attempts} attempt(s)")
    return 0 if outcome.status == "succeeded" else 1


async def status_command(domain: Domain, settings: Settings, client: Client) -> int:
    """``status``: one line per trigger and scheduled action, then the outbox."""
    engine = create_engine(settings.require_database_url(), pool_size=1)
    try:
        with database_errors(engine):
            rows = await domain_status(client, engine, domain, settings.task_queue_prefix)
            outbox = await outbox_line(engine, domain)
    finally:
        await engine.dispose()
    for row in rows:
        last = row.last_run.isoformat(timespec="seconds") if row.last_run else "never"
        label = "last_run" if row.scheduled_action else "last_scan"
        when = f' cron="{row.cron}" timezone={row.timezone}' if row.cron else ""
        print(f"{row.line()} {label}={last}{when}")
    print(outbox)
    return 0


CLI_OPTIONS = {"tenant": "--tenant", "actor_ref": "--actor-ref"}
"""Client arguments the command line takes as options: their errors name the option."""


def for_command_line(error: InvalidArgument, message: str) -> str:
    """``error``'s ``message`` naming the command line's option, not the Python argument:
    ``tenant: ...; fix: pass tenant=...`` becomes ``--tenant: ...; fix: pass --tenant TENANT``."""
    name = error.argument
    option = CLI_OPTIONS.get(name)
    if option is None:
        return message
    message = option + message[len(name) :]
    message = message.replace(f"{name}=...", f"{option} {name.upper()}")
    return re.sub(rf"\b{name}=", option, message)
