"""The command-line verbs that talk to Temporal: schedules and trigger runs."""

from __future__ import annotations

import argparse

from temporalio.client import Client

from activities.runtime import create_engine
from registry import Domain
from workflows.client import TriggerClient
from workflows.schedules import describe_schedules, sync_schedules
from workflows.settings import Settings
from workflows.status import domain_status


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
        rows = await describe_schedules(client, domain)
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
    resource = domain.get_resource(args.resource)
    declaration = resource.triggers.get(args.name) or resource.schedules.get(args.name)
    if declaration is None:
        known = ", ".join(sorted([*resource.triggers, *resource.schedules])) or "none"
        raise ValueError(f"name: expected one of ({known}), found {args.name!r}")
    handle = client.get_schedule_handle(declaration.schedule_id)
    if verb == "pause":
        await handle.pause(note="paused with worker.py schedules pause")
    elif verb == "unpause":
        await handle.unpause(note="unpaused with worker.py schedules unpause")
    else:
        await handle.trigger()
    print(f"{verb}: {declaration.schedule_id}")
    return 0


async def _trigger_run(
    args: argparse.Namespace, domain: Domain, settings: Settings, client: Client
) -> int:
    trigger = domain.get_trigger(args.resource, args.trigger)
    key = settings.actor_signing_key
    ember = TriggerClient(
        client,
        domain,
        task_queue_prefix=settings.task_queue_prefix,
        signing_key=key.get_secret_value().encode() if key else None,
    )
    record = (trigger.resource.model, args.pk)
    handle = await ember.run_trigger(record, trigger, tenant=args.tenant)
    print(f"started {handle.id}")
    if args.wait:
        outcome = await handle.result()
        print(f"outcome {outcome.status} after {outcome.attempts} attempt(s)")
    return 0


async def _status(domain: Domain, settings: Settings, client: Client) -> int:
    engine = create_engine(settings.require_database_url(), pool_size=1)
    try:
        rows = await domain_status(client, engine, domain)
    finally:
        await engine.dispose()
    for row in rows:
        scanned = row.last_scan.isoformat(timespec="seconds") if row.last_scan else "never"
        print(f"{row.line()} last_scan={scanned}")
    return 0
