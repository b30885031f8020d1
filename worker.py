"""The Ember command line: validate, migrate, run, dev, status, schedules and trigger.

    python worker.py --app examples.helpdesk.app:helpdesk run
    python worker.py dev          # embedded Postgres + Temporal dev server + worker
    ember run --app myapp.triggers:domain   # the same, as the installed console script

``ember.EmberWorker(domain, settings)`` runs the same in code, for tests and
embedding.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import sys
import traceback
from collections.abc import Sequence
from typing import Any, NoReturn

from temporalio.client import Client, WorkflowFailureError

from ember.activities.run_results import outcome_text
from ember.activities.runtime import create_engine
from ember.registry import (
    Domain,
    EmberError,
    InvalidArgument,
    RegistryError,
)
from ember.workflows.client import TriggerClient
from ember.workflows.connection import connect_with
from ember.workflows.drain import ended_without_outcome
from ember.workflows.logs import use_json_logs
from ember.workflows.schedule_sync import describe_schedules, sync_schedules
from ember.workflows.settings import (
    Settings,
    add_setting_options,
    settings_from,
    unknown_variable_warnings,
)
from ember.workflows.startup import database_errors, load_domain, load_seed, prepare_database
from ember.workflows.status import domain_status, outbox_line, show_progress
from ember.workflows.worker import EmberWorker, run_until_signalled

logger = logging.getLogger("ember.worker")


def build_parser(prog: str = "worker.py") -> argparse.ArgumentParser:
    """The command line (``worker.py``, or the ``ember`` console script)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Ember: declarative background triggers on Temporal.",
        epilog="Every option above may also come after the command "
        f"(`{prog} validate --app module:domain`).",
    )
    add_setting_options(parser, shown=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    shared = argparse.ArgumentParser(add_help=False)
    add_setting_options(shared, shown=False)
    epilog = (
        f"Every option of `{prog} --help` (--app, --database-url, ..., --debug) works here too."
    )

    def command(
        group: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str
    ) -> argparse.ArgumentParser:
        return group.add_parser(
            name, help=help_text, description=help_text, epilog=epilog, parents=[shared]
        )

    command(commands, "validate", "check the registry and list its triggers and schedules")
    command(commands, "run", "sync schedules and run the worker until SIGTERM")
    dev = command(commands, "dev", "embedded Postgres + Temporal dev server + UI + worker")
    dev.add_argument("--root", default=".ember", help="where the local state lives")
    dev.add_argument("--temporal-port", type=int, default=7233, help="Temporal frontend port")
    dev.add_argument("--ui-port", type=int, default=8233, help="Temporal web UI port")
    dev.add_argument("--seed", help="module:function inserting demo rows (async, given a session)")
    command(commands, "migrate", "create Ember's tables in the database if missing")
    command(commands, "status", "per trigger and scheduled action: schedule, last run, outcomes")
    schedules = command(commands, "schedules", "list, sync, pause, unpause or trigger")
    actions = schedules.add_subparsers(dest="schedule_command", required=True, metavar="ACTION")
    command(actions, "list", "id, cron, timezone, state and next run of each Ember schedule")
    command(actions, "sync", "make the server's schedules match the registry")
    for verb in ("pause", "unpause", "trigger-now"):
        action = command(actions, verb, f"{verb} one schedule")
        action.add_argument("resource", help=f"resource name (see `{prog} validate`)")
        action.add_argument("name", help="trigger or scheduled action name")
    trigger = command(commands, "trigger", "run a trigger for one record now")
    trigger_actions = trigger.add_subparsers(
        dest="trigger_command", required=True, metavar="ACTION"
    )
    run_one = command(trigger_actions, "run", "run <resource> <trigger> <pk>")
    run_one.add_argument("resource", help=f"resource name (see `{prog} validate`)")
    run_one.add_argument("trigger", help="trigger name on that resource")
    run_one.add_argument("pk", help="the record's primary key")
    run_one.add_argument("--tenant", help="the record's tenant")
    run_one.add_argument(
        "--actor-ref", help='the actor\'s reference, e.g. \'{"type": "users", "id": 7}\''
    )
    run_one.add_argument(
        "--wait",
        action="store_true",
        help="wait for the outcome; exit 0 if it succeeded, 1 otherwise",
    )
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
            f"cron={options.scheduler_cron or '-'} timezone={options.timezone} "
            f"queue={trigger.queue} max_attempts={options.max_attempts} state={options.state}"
        )
    for scheduled in domain.schedules:
        declared = scheduled.options
        lines.append(
            f"  schedule {scheduled.resource.name}.{scheduled.name}: action={declared.action} "
            f"cron={declared.cron} timezone={declared.timezone} queue={scheduled.queue} "
            f"state={declared.state}"
        )
    return "\n".join(lines)


async def run_dev(args: argparse.Namespace, base: Settings) -> int:
    """The local stack: embedded Postgres, Temporal dev server + UI, the worker."""
    from ember.workflows.testing.devstack import DevStack, scan_now

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
        print(stack.banner(settings, domain), flush=True)
        logging.getLogger("temporalio.workflow").setLevel(logging.WARNING)  # progress instead
        progress = asyncio.ensure_future(show_progress(stack.client, settings, domain))
        worker = EmberWorker(domain, settings, client=stack.client)
        try:
            await run_until_signalled(worker, on_start=scan_now)
        finally:
            progress.cancel()
    print("ember: dev stack stopped")
    return 0


def check_arguments(args: argparse.Namespace, domain: Domain) -> None:
    """Resolve the resource and trigger or schedule names given, or raise naming the known ones."""
    if args.command == "trigger":
        domain.get_trigger(args.resource, args.trigger)
    elif args.command == "schedules" and args.schedule_command not in ("list", "sync"):
        domain.get_declaration(args.resource, args.name)


async def schedules_command(
    args: argparse.Namespace, domain: Domain, settings: Settings, client: Client
) -> int:
    """``schedules list|sync|pause|unpause|trigger-now``."""
    verb = args.schedule_command
    if verb == "list":
        rows = await describe_schedules(client, domain, settings.task_queue_prefix)
        print(f"{'SCHEDULE':60} {'CRON':14} {'TIMEZONE':16} {'STATE':7} NEXT RUN")
        for row in rows:
            print(row.line())
        return 0
    if verb == "sync":
        report = await sync_schedules(client, domain, settings.task_queue_prefix)
        for label in ("created", "updated", "unchanged", "deleted"):
            for schedule_id in getattr(report, label):
                print(f"{label:9} {schedule_id}")
        return 0
    declaration = domain.get_declaration(args.resource, args.name)
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
    print(f"outcome {outcome_text(outcome)} after {outcome.attempts} attempt(s)")
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
        print(row.report())
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
    shown: str = re.sub(rf"\b{name}=", option, message)
    return shown


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
    if isinstance(error, InvalidArgument):
        return for_command_line(error, message)
    if isinstance(error, EmberError):
        return message
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def main(argv: Sequence[str] | None = None, prog: str = "worker.py") -> int:
    """Run the command line; returns the exit code. One line on error (a traceback only
    with --debug)."""
    args = build_parser(prog).parse_args(argv)
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


def run(prog: str = "ember") -> NoReturn:
    """The ``ember`` console script and ``python worker.py``: ``main``, then exit at once.

    The current directory comes first on ``sys.path`` (as with ``python -m``), so ``--app
    myapp.triggers:domain`` finds the project it is run in.
    """
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        code = main(prog=prog)
    except SystemExit:  # --help, or a usage error: nothing has started yet
        raise
    except BaseException:  # with --debug main lets the error through
        traceback.print_exc()
        code = 2
    sys.stdout.flush()
    sys.stderr.flush()
    # The Temporal SDK's native threads can crash interpreter finalisation
    # (PyGILState_Release); everything is flushed and closed, so leave at once.
    os._exit(code)


if __name__ == "__main__":
    run("worker.py")
