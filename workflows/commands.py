"""The command-line verbs that talk to Temporal: schedules and trigger runs."""

from __future__ import annotations

import argparse
import json

from temporalio.client import Client

from activities.runtime import create_engine
from registry import Domain, ScheduledAction, Trigger
from workflows.client import TriggerClient
from workflows.schedules import describe_schedules, sync_schedules
from workflows.settings import Settings
from workflows.startup import database_errors
from workflows.status import domain_status, outbox_line


def check_arguments(args: argparse.Namespace, domain: Domain) -> None:
    """Resolve the resource and trigger or schedule names given, or raise naming the known ones."""
    if args.command == "trigger":
        domain.get_trigger(args.resource, args.trigger)
    elif args.command == "schedules" and args.schedule_command not in ("list", "sync"):
        _declaration(domain, args.resource, args.name)


async def run_client_command(
    args: argparse.Namespace, domain: Domain, settings: Settings, client: Client
) -> int:
    """Run ``schedules ...``, ``trigger run ...`` or ``status``; returns the exit code."""
    if args.command == "schedules":
        return await _schedules(args, domain, settings, client)
    if args.command == "trigger":
        return await _trigger_run(args, domain, settings, client)
    if args.command == "status":
        return await _status(domain, settings, client)
    raise ValueError(f"command: expected schedules or trigger, found {args.command!r}")


async def _schedules(
    args: argparse.Namespace, domain: Domain, settings: Settings, client: Client
) -> int:
    verb = args.schedule_command
    if verb == "list":
        rows = await describe_schedules(client, domain, settings.task_queue_prefix)
        print(f"{'SCHEDULE':60} {'CRON':14} {'STATE':7} NEXT RUN")
        for row in rows:
            state = "paused" if row.paused else "active"
            upcoming = row.next_run.isoformat(timespec="seconds") if row.next_run else "-"
            print(f"{row.id:60} {row.cron:14} {state:7} {upcoming}")
        return 0
    if verb == "sync":
        report = await sync_schedules(client, domain, settings.task_queue_prefix)
        for label in ("created", "updated", "unchanged", "deleted"):
            for schedule_id in getattr(report, label):
                print(f"{label:9} {schedule_id}")
        return 0
    declaration = _declaration(domain, args.resource, args.name)
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


def _declaration(domain: Domain, resource_name: str, name: str) -> Trigger | ScheduledAction:
    resource = domain.get_resource(resource_name)
    declaration = resource.triggers.get(name) or resource.schedules.get(name)
    if declaration is None:
        known = ", ".join(sorted([*resource.triggers, *resource.schedules])) or "none"
        raise ValueError(f"name: expected one of ({known}) on {resource_name!r}, found {name!r}")
    return declaration


async def _trigger_run(
    args: argparse.Namespace, domain: Domain, settings: Settings, client: Client
) -> int:
    trigger = domain.get_trigger(args.resource, args.trigger)
    ember = TriggerClient(
        client,
        domain,
        task_queue_prefix=settings.task_queue_prefix,
        signing_key=settings.signing_key(),
    )
    record = (trigger.resource.model, args.pk)
    actor_ref = None
    if args.actor_ref:
        try:
            actor_ref = json.loads(args.actor_ref)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"--actor-ref: expected a JSON object such as "
                f'\'{{"type": "users", "id": 7}}\', found {args.actor_ref!r} ({error})'
            ) from None
    handle = await ember.run_trigger(record, trigger, tenant=args.tenant, actor_ref=actor_ref)
    print(f"started {handle.id}")
    if args.wait:
        outcome = await handle.result()
        print(f"outcome {outcome.status} after {outcome.attempts} attempt(s)")
    return 0


async def _status(domain: Domain, settings: Settings, client: Client) -> int:
    engine = create_engine(settings.require_database_url(), pool_size=1)
    try:
        with database_errors(engine):
            rows = await domain_status(client, engine, domain, settings.task_queue_prefix)
            outbox = await outbox_line(engine, domain)
    finally:
        await engine.dispose()
    for row in rows:
        scanned = row.last_scan.isoformat(timespec="seconds") if row.last_scan else "never"
        print(f"{row.line()} last_scan={scanned}")
    print(outbox)
    return 0
