"""The Ember command line: validate, migrate, run, dev, status, schedules and trigger.

    python worker.py --app examples.helpdesk.app:helpdesk run
    python worker.py dev          # embedded Postgres + Temporal dev server + worker

``workflows.worker.EmberWorker(domain, settings)`` runs the same in code, for tests and
embedding.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence
from urllib.parse import quote

from pydantic import ValidationError
from temporalio.client import Client

from activities.runtime import create_engine
from registry import (
    Domain,
    EmberError,
    InvalidArgument,
    RegistryError,
    ScheduledAction,
    Trigger,
    UnknownDeclaration,
    naming,
)
from workflows.client import TriggerClient
from workflows.connection import connect_with
from workflows.logs import use_json_logs
from workflows.schedules import describe_schedules, sync_schedules
from workflows.settings import Settings, SettingsError, describe_errors, unknown_variable_warnings
from workflows.startup import database_errors, load_domain, load_seed, prepare_database
from workflows.status import domain_status, not_succeeded_query, outbox_line, show_progress
from workflows.worker import EmberWorker, run_until_signalled

logger = logging.getLogger("ember.worker")

SETTING_OPTIONS = {
    name: f"{field.description} (EMBER_{name.upper()})"
    for name, field in Settings.model_fields.items()
}
"""Every setting as a ``--option``, with the description the settings model gives it."""


def settings_from(args: argparse.Namespace) -> Settings:
    """Settings from the environment, overridden by the options given.

    Raises:
        SettingsError: a value is wrong; the message names each variable to fix.
    """
    given = {name: getattr(args, name) for name in SETTING_OPTIONS if getattr(args, name, None)}
    try:
        return Settings(**given)
    except ValidationError as error:
        raise SettingsError(describe_errors(error)) from error


def build_parser() -> argparse.ArgumentParser:
    """The ``worker.py`` command line."""
    parser = argparse.ArgumentParser(
        prog="worker.py", description="Ember: declarative background triggers on Temporal."
    )
    for name, help_text in SETTING_OPTIONS.items():
        parser.add_argument("--" + name.replace("_", "-"), dest=name, help=help_text)
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("validate", help="check the registry and list its triggers and schedules")
    commands.add_parser("run", help="sync schedules and run the worker until SIGTERM")
    dev = commands.add_parser("dev", help="embedded Postgres + Temporal dev server + UI + worker")
    dev.add_argument("--root", default=".ember", help="where the local state lives")
    dev.add_argument("--temporal-port", type=int, default=7233, help="Temporal frontend port")
    dev.add_argument("--ui-port", type=int, default=8233, help="Temporal web UI port")
    dev.add_argument("--seed", help="module:function inserting demo rows (async, given a session)")
    commands.add_parser("migrate", help="create Ember's tables in the database if missing")
    commands.add_parser("status", help="per trigger: schedule, last scan, matching rows, outcomes")
    schedules = commands.add_parser("schedules", help="list, sync, pause, unpause or trigger")
    actions = schedules.add_subparsers(dest="schedule_command", required=True, metavar="ACTION")
    actions.add_parser("list", help="id, cron, state and next run of each Ember schedule")
    actions.add_parser("sync", help="make the server's schedules match the registry")
    for verb in ("pause", "unpause", "trigger-now"):
        action = actions.add_parser(verb, help=f"{verb} one schedule")
        action.add_argument("resource", help="resource name (see `worker.py validate`)")
        action.add_argument("name", help="trigger or scheduled action name")
    trigger = commands.add_parser("trigger", help="run a trigger for one record now")
    trigger_actions = trigger.add_subparsers(
        dest="trigger_command", required=True, metavar="ACTION"
    )
    run_one = trigger_actions.add_parser("run", help="run <resource> <trigger> <pk>")
    run_one.add_argument("resource", help="resource name (see `worker.py validate`)")
    run_one.add_argument("trigger", help="trigger name on that resource")
    run_one.add_argument("pk", help="the record's primary key")
    run_one.add_argument("--tenant", help="the record's tenant")
    run_one.add_argument(
        "--actor-ref", help='the actor\'s reference, e.g. \'{"type": "users", "id": 7}\''
    )
    run_one.add_argument("--wait", action="store_true", help="wait for the outcome")
    return parser


def describe_registry(domain: Domain) -> str:
    """The triggers and scheduled actions of ``domain``, one line each."""
    lines = [
        f"domain {domain.name}: {len(domain.triggers)} triggers, {len(domain.schedules)} schedules"
    ]
    for trigger in domain.triggers:
        options = trigger.options
        lines.append(
            f"  trigger  {trigger.resource.name}.{trigger.name}: action={options.action} "
            f"cron={options.scheduler_cron or '-'} queue={trigger.queue} "
            f"max_attempts={options.max_attempts} state={options.state}"
        )
    for scheduled in domain.schedules:
        declared = scheduled.options
        lines.append(
            f"  schedule {scheduled.resource.name}.{scheduled.name}: action={declared.action} "
            f"cron={declared.cron} queue={scheduled.queue} state={declared.state}"
        )
    return "\n".join(lines)


async def run_dev(args: argparse.Namespace, base: Settings) -> int:
    """The local stack: embedded Postgres, Temporal dev server + UI, the worker."""
    from workflows.testing.devstack import DevStack, scan_now

    domain = load_domain(base.app)
    seed = load_seed(args.seed) if args.seed else None
    async with DevStack(
        args.root,
        temporal_port=args.temporal_port,
        ui_port=args.ui_port,
        tables=domain.metadata,
        seed=seed,
    ) as stack:
        settings = base.model_copy(
            update={"database_url": stack.database_url, "temporal_address": stack.temporal_address}
        )
        query = quote(f"WorkflowType={naming.visibility_literal(naming.RECORD_WORKFLOW)}")
        not_succeeded = not_succeeded_query(domain, settings.task_queue_prefix)
        print(
            f"\nEmber dev stack is up (state in {stack.root}):\n"
            f"  Temporal UI   {stack.ui_url}/namespaces/default/workflows?query={query}\n"
            f"  not succeeded {stack.workflows_url(not_succeeded)}\n"
            f"  Temporal      {stack.temporal_address}\n"
            f"  PostgreSQL    {stack.database_url}\n"
            f"  app           {base.app} ({len(domain.triggers)} triggers)\n"
            "Press Ctrl-C to stop.\n",
            flush=True,
        )
        logging.getLogger("temporalio.workflow").setLevel(logging.WARNING)  # progress instead
        progress = asyncio.ensure_future(show_progress(stack.client, settings, domain))
        worker = EmberWorker(domain, settings, client=stack.client)
        try:
            await run_until_signalled(worker, on_start=scan_now)
        finally:
            progress.cancel()
    print("ember: dev stack stopped")
    return 0


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


async def trigger_command(
    args: argparse.Namespace, domain: Domain, settings: Settings, client: Client
) -> int:
    """``trigger run <resource> <trigger> <pk>``."""
    trigger = domain.get_trigger(args.resource, args.trigger)
    ember = await TriggerClient.from_settings(domain, settings, client=client)
    record = (trigger.resource.model, args.pk)
    actor_ref = None
    if args.actor_ref:
        try:
            actor_ref = json.loads(args.actor_ref)
        except json.JSONDecodeError as error:
            raise InvalidArgument(
                f"--actor-ref: expected a JSON object such as "
                f'\'{{"type": "users", "id": 7}}\', found {args.actor_ref!r} ({error})'
            ) from None
    handle = await ember.run_trigger(record, trigger, tenant=args.tenant, actor_ref=actor_ref)
    print(f"started {handle.id}")
    if args.wait:
        outcome = await handle.result()
        print(f"outcome {outcome.status} after {outcome.attempts} attempt(s)")
    return 0


async def status_command(domain: Domain, settings: Settings, client: Client) -> int:
    """``status``: one line per trigger, then the outbox."""
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


async def execute(args: argparse.Namespace) -> int:
    """Run one command; returns the exit code."""
    settings = settings_from(args)
    if settings.log_json:
        use_json_logs()
    for warning in unknown_variable_warnings(os.environ):
        logger.warning("ember: %s", warning)
    if args.command == "dev":
        return await run_dev(args, settings)
    domain = load_domain(settings.app)
    if args.command == "validate":
        domain.validate(settings.queues, require_all_queues=settings.require_all_queues)
        print(describe_registry(domain))
        return 0
    if args.command == "migrate":
        engine = create_engine(settings.require_database_url())
        try:
            await prepare_database(engine)
        finally:
            await engine.dispose()
        print("ember: tables ready")
        return 0
    if args.command == "run":
        await run_until_signalled(EmberWorker(domain, settings))
        return 0
    check_arguments(args, domain)  # before connecting: a typo is not a network problem
    client = await connect_with(settings)
    if args.command == "schedules":
        return await schedules_command(args, domain, settings, client)
    if args.command == "trigger":
        return await trigger_command(args, domain, settings, client)
    return await status_command(domain, settings, client)


def one_line(error: Exception) -> str:
    """``error`` on one line: an EmberError's message says what was expected, what was
    found and the fix; any other exception is unexpected and also named by its type."""
    message = " ".join(str(error).split())
    if isinstance(error, EmberError):
        return message
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: one line on error (a traceback only with --debug)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    try:
        return asyncio.run(execute(args))
    except RegistryError as error:  # every problem of the registry, one a line
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        if args.debug:
            raise
        print(f"error: {one_line(error)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # The Temporal SDK's native threads can crash interpreter finalisation
    # (PyGILState_Release); everything is flushed and closed, so leave at once.
    os._exit(code)
