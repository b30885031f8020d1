"""The Ember command line: validate, migrate, run, dev, status, schedules and trigger.

    python worker.py --app examples.helpdesk.app:helpdesk run
    python worker.py dev          # embedded Postgres + Temporal dev server + worker
    ember run --app myapp.triggers:domain   # the same, as the installed console script

``workflows.worker.EmberWorker(domain, settings)`` runs the same in code, for tests and
embedding.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shlex
import sys
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import quote

from pydantic import ValidationError

from activities.runtime import create_engine
from registry import Domain, EmberError, InvalidArgument, RegistryError, naming
from workflows.commands import (
    check_arguments,
    for_command_line,
    schedules_command,
    status_command,
    trigger_command,
)
from workflows.connection import connect_with
from workflows.logs import use_json_logs
from workflows.settings import Settings, SettingsError, describe_errors, unknown_variable_warnings
from workflows.startup import load_domain, load_seed, prepare_database
from workflows.status import show_progress
from workflows.worker import EmberWorker, run_until_signalled

if TYPE_CHECKING:
    from workflows.testing.devstack import DevStack

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


def add_shared_options(parser: argparse.ArgumentParser, *, shown: bool) -> None:
    """Every setting as ``--option``, and ``--debug``, on ``parser``.

    On the top-level parser they are ``shown`` with their help and default to None; on
    each (nested) subcommand they are accepted too, hidden, and default to SUPPRESS, so
    a value given before the subcommand is not overwritten by the subcommand's default.
    """
    default = None if shown else argparse.SUPPRESS
    for name, help_text in SETTING_OPTIONS.items():
        parser.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            default=default,
            help=help_text if shown else argparse.SUPPRESS,
        )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=False if shown else argparse.SUPPRESS,
        help="show tracebacks and debug logs" if shown else argparse.SUPPRESS,
    )


def build_parser(prog: str = "worker.py") -> argparse.ArgumentParser:
    """The command line (``worker.py``, or the ``ember`` console script)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Ember: declarative background triggers on Temporal.",
        epilog="Every option above may also come after the command "
        f"(`{prog} validate --app module:domain`).",
    )
    add_shared_options(parser, shown=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    shared = argparse.ArgumentParser(add_help=False)
    add_shared_options(shared, shown=False)
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


NOT_SUCCEEDED = ("failed", "discarded", "errored_handled")
"""Outcomes the dev stack's second UI link lists."""


def export_line(settings: Settings) -> str:
    """``export EMBER_APP=... EMBER_DATABASE_URL='...' ...``: what other commands need."""
    values = {
        "EMBER_APP": settings.app,
        "EMBER_DATABASE_URL": settings.database_url,
        "EMBER_TEMPORAL_ADDRESS": settings.temporal_address,
        "EMBER_TASK_QUEUE_PREFIX": settings.task_queue_prefix or None,
    }
    assignments = (f"{name}={shlex.quote(value)}" for name, value in values.items() if value)
    return "export " + " ".join(assignments)


def dev_banner(stack: DevStack, settings: Settings, domain: Domain) -> str:
    """What ``dev`` prints once the stack is up: links, addresses and the export line."""
    quoted = naming.visibility_literal
    runs = f"{stack.ui_url}/namespaces/default/workflows?query="
    record_runs = quote(f"WorkflowType={quoted(naming.RECORD_WORKFLOW)}")
    outcomes = ", ".join(quoted(outcome) for outcome in NOT_SUCCEEDED)
    not_succeeded = quote(f"{naming.OUTCOME_ATTRIBUTE} IN ({outcomes})")
    signing = "\n  (and EMBER_ACTOR_SIGNING_KEY, as set here)" if settings.actor_signing_key else ""
    return (
        f"\nEmber dev stack is up (state in {stack.root}):\n"
        f"  Temporal UI   {runs}{record_runs}\n"
        f"  not succeeded {runs}{not_succeeded}\n"
        f"  Temporal      {stack.temporal_address} (server log: {stack.temporal_log})\n"
        f"  PostgreSQL    {stack.database_url}\n"
        f"  app           {settings.app} ({len(domain.triggers)} triggers, "
        f"{len(domain.schedules)} scheduled actions)\n"
        "For status, trigger run and schedules in another terminal:\n"
        f"  {export_line(settings)}{signing}\n"
        "Press Ctrl-C to stop.\n"
    )


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
        print(dev_banner(stack, settings, domain), flush=True)
        logging.getLogger("temporalio.workflow").setLevel(logging.WARNING)  # progress instead
        progress = asyncio.ensure_future(show_progress(stack.client, settings, domain))
        worker = EmberWorker(domain, settings, client=stack.client)
        try:
            await run_until_signalled(worker, on_start=scan_now)
        finally:
            progress.cancel()
    print("ember: dev stack stopped")
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
        domain.validate(settings.queues)
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
    """The ``ember`` console script and ``python worker.py``: ``main``, then exit at once."""
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
