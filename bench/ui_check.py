"""Check that the Temporal web UI of the dev stack shows Ember's workflows and their data.

    python -m bench.ui_check          # or: make ui-check

Starts a :class:`~ember.workflows.testing.devstack.DevStack` in a temporary root on free
ports, runs an :class:`~ember.EmberWorker` for the helpdesk example against it, fires every
trigger schedule once (:func:`ember.workflows.testing.devstack.scan_now`), runs
``escalate_urgent_now`` for one ticket as an admin (so one run carries an actor in its
memo) and for another as nobody (the policy denies it: ``discarded``, status Failed), and
waits until some ``escalate_stale`` record workflows have completed. Then headless
Chromium (:mod:`bench.chromium`) renders five UI pages and saves a screenshot of each in
``bench/results/`` (and, for a page that fails its check, the rendered DOM beside it as
``.html``); :mod:`bench.ui_pages` says what each must show:

- ``ui-failed.png``: the list of runs that did not succeed (the link ``worker.py dev``
  prints, :func:`ember.workflows.status.not_succeeded_query`); it must show the denied run,
  Failed.
- ``ui.png``: the workflow list filtered by ``EmberTrigger="escalate_stale"``; it must list
  record workflows (ids ``ember/helpdesk/tickets/escalate_stale/...``, type
  ``ember.RecordTrigger``).
- ``ui-detail.png``: the *Search Attributes* tab of one of them; it must show Ember's five
  search attributes and the trigger's name.
- ``ui-summary.png``: its *User Metadata* tab; it must show the run's summary line
  (trigger, record, tenant).
- ``ui-memo.png``: the *Memo* tab of the admin's run; it must show the actor reference.

Exits 0 when every page passes, 1 when a page lacks what it should show, 2 when something
does not start or does not finish in time; everything it started is stopped either way.
Needs ``/usr/bin/chromium`` (Debian's ``chromium`` package; ``make ui-check`` installs it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import tempfile
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine
from temporalio.client import Client

from bench.chromium import CHROMIUM, SetupFailed, render
from bench.ui_pages import (
    TRIGGER,
    CheckFailed,
    check_list,
    check_memo,
    check_not_succeeded,
    check_search_attributes,
    check_user_metadata,
)
from ember.activities.run_results import RunHandle, outcome_text
from ember.activities.types import Outcome
from ember.registry import naming
from ember.workflows.client import TriggerClient
from ember.workflows.settings import Settings
from ember.workflows.status import not_succeeded_query
from ember.workflows.testing.devstack import DevStack, free_port, scan_now
from ember.workflows.worker import EmberWorker
from examples.helpdesk.app import helpdesk
from examples.helpdesk.models import Base, Ticket, User
from examples.helpdesk.seed import seed_demo_rows

logger = logging.getLogger("ember.ui_check")
T = TypeVar("T")

RESULTS = Path(__file__).resolve().parent / "results"
NAMESPACE = "default"
DIRECT_TRIGGER = "escalate_urgent_now"
STACK_TIMEOUT = 120.0
WORKER_START_TIMEOUT = 60.0
WORKFLOWS_TIMEOUT = 90.0
SHUTDOWN_TIMEOUT = 60.0
RPC_TIMEOUT = 30.0
POLL_EVERY = 0.5


def two_free_ports() -> tuple[int, int]:
    """Two distinct free ports (the Temporal frontend's and the UI's)."""
    first = free_port()
    second = free_port()
    while second == first:
        second = free_port()
    return first, second


def record_query(status: str | None = None) -> str:
    """Visibility query for the ``escalate_stale`` record workflows (in ``status``)."""
    query = (
        f"WorkflowType = '{naming.RECORD_WORKFLOW}' AND {naming.TRIGGER_ATTRIBUTE} = '{TRIGGER}'"
    )
    return f"{query} AND ExecutionStatus = '{status}'" if status else query


def workflow_url(ui_url: str, workflow_id: str, run_id: str, tab: str) -> str:
    """Address of one tab (``history``, ``search-attributes``, ``user-metadata``, ``memo``)."""
    return (
        f"{ui_url}/namespaces/{NAMESPACE}/workflows/"
        f"{quote(workflow_id, safe='')}/{quote(run_id, safe='')}/{tab}"
    )


async def bounded(awaitable: Awaitable[T], what: str, timeout: float) -> T:
    """``awaitable``'s result, or SetupFailed naming ``what`` after ``timeout`` seconds."""
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except TimeoutError:
        raise SetupFailed(f"expected {what} within {timeout:g}s, found it still pending") from None


async def wait_for_records(client: Client, timeout: float) -> int:
    """Wait until some ``escalate_stale`` record workflows completed; return how many.

    Raises:
        SetupFailed: none completed within ``timeout`` seconds.
    """
    query = record_query("Completed")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):  # visibility may not answer yet
            count = (await client.count_workflows(query)).count
            if count:
                return count
        await asyncio.sleep(POLL_EVERY)
    started = (await client.count_workflows(record_query())).count
    raise SetupFailed(
        f"expected completed {TRIGGER} record workflows within {timeout:g}s "
        f"(query {query!r}), found none ({started} started)"
    )


async def first_record(client: Client) -> tuple[str, str]:
    """Workflow id and run id of one completed ``escalate_stale`` record workflow."""
    async for execution in client.list_workflows(record_query("Completed"), limit=1):
        return execution.id, execution.run_id
    raise SetupFailed(f"expected a completed {TRIGGER} record workflow to list, found none")


async def wait_listed(client: Client, query: str, workflow_id: str) -> None:
    """Wait until visibility lists ``workflow_id`` under ``query`` (it trails the runs)."""
    while True:
        with contextlib.suppress(Exception):  # visibility may not answer yet
            async for execution in client.list_workflows(query):
                if execution.id == workflow_id:
                    return
        await asyncio.sleep(POLL_EVERY)


@dataclass
class DirectRuns:
    """The ``escalate_urgent_now`` runs started by hand."""

    allowed: RunHandle[Outcome]  # as an admin: its memo carries the actor
    admin: int  # the admin's user id
    forbidden: RunHandle[Outcome]  # as nobody: the policy denies it, it ends Failed


async def start_direct_runs(stack: DevStack) -> DirectRuns:
    """Run ``escalate_urgent_now`` for an urgent ticket as its organisation's admin, and
    for another one as nobody (the helpdesk's policy lets only admins escalate by hand)."""
    engine = create_async_engine(stack.database_url)
    try:
        async with engine.connect() as connection:
            admin = (
                await connection.execute(
                    select(User.id, User.organisation).where(User.is_admin).order_by(User.id)
                )
            ).first()
            if admin is None:
                raise SetupFailed("expected an admin user in the helpdesk demo rows, found none")
            # Not open first: escalate_stale leaves those alone, so no race over them.
            urgent = select(Ticket.id, Ticket.organisation).where(Ticket.priority == "urgent")
            urgent = urgent.order_by(Ticket.status == "open", Ticket.id)
            mine = (
                await connection.execute(urgent.where(Ticket.organisation == admin.organisation))
            ).first()
            other = (
                None
                if mine is None
                else (await connection.execute(urgent.where(Ticket.id != mine.id))).first()
            )
    finally:
        await engine.dispose()
    if mine is None or other is None:
        raise SetupFailed(
            f"expected two urgent tickets, one of {admin.organisation}, in the demo rows, "
            f"found {0 if mine is None else 1}"
        )
    ember = TriggerClient(stack.client, helpdesk)
    allowed = await ember.run_trigger(
        (Ticket, mine.id),
        DIRECT_TRIGGER,
        tenant=mine.organisation,
        actor_ref={"type": User.__tablename__, "id": admin.id},
    )
    forbidden = await ember.run_trigger(
        (Ticket, other.id), DIRECT_TRIGGER, tenant=other.organisation
    )
    return DirectRuns(allowed, int(admin.id), forbidden)


async def check_pages(stack: DevStack, results: Path, scratch: Path) -> None:
    """Run the workflows the pages show, then render and check each page."""
    direct = await bounded(
        start_direct_runs(stack), f"the {DIRECT_TRIGGER} runs to start", RPC_TIMEOUT
    )
    count = await bounded(
        wait_for_records(stack.client, WORKFLOWS_TIMEOUT),
        f"completed {TRIGGER} record workflows",
        WORKFLOWS_TIMEOUT + RPC_TIMEOUT,
    )
    logger.info("%d %s record workflows completed", count, TRIGGER)
    for handle in (direct.allowed, direct.forbidden):
        outcome = await bounded(handle.result(), f"the {DIRECT_TRIGGER} run", WORKFLOWS_TIMEOUT)
        logger.info("direct run %s: %s", handle.id, outcome_text(outcome))
        if handle is direct.forbidden and outcome.status != "discarded":
            raise SetupFailed(f"expected {handle.id} to be discarded (forbidden), found {outcome}")

    query = not_succeeded_query(helpdesk)
    await bounded(
        wait_listed(stack.client, query, direct.forbidden.id),
        f"{direct.forbidden.id} listed by {query!r}",
        WORKFLOWS_TIMEOUT,
    )
    page = await render(stack.workflows_url(query), results / "ui-failed.png", scratch)
    check_not_succeeded(page, direct.forbidden.id)
    logger.info("runs that did not succeed shown: %s", page.screenshot)

    query = f'{naming.TRIGGER_ATTRIBUTE}="{TRIGGER}"'
    url = f"{stack.ui_url}/namespaces/{NAMESPACE}/workflows?query={quote(query)}"
    page = await render(url, results / "ui.png", scratch)
    logger.info("workflow list shows %d record workflow ids: %s", check_list(page), page.screenshot)

    workflow_id, run_id = await bounded(
        first_record(stack.client), "a record workflow listed", RPC_TIMEOUT
    )
    record = await bounded(
        stack.client.get_workflow_handle(workflow_id).describe(), "a record run", RPC_TIMEOUT
    )
    summary = await record.static_summary()
    if not summary:
        raise CheckFailed(f"expected {workflow_id} to have a summary, found none")
    url = workflow_url(stack.ui_url, workflow_id, run_id, "search-attributes")
    page = await render(url, results / "ui-detail.png", scratch)
    check_search_attributes(page, workflow_id)
    logger.info("search attributes of %s shown: %s", workflow_id, page.screenshot)

    url = workflow_url(stack.ui_url, workflow_id, run_id, "user-metadata")
    page = await render(url, results / "ui-summary.png", scratch)
    check_user_metadata(page, workflow_id, summary)
    logger.info("summary of %s shown: %s", workflow_id, page.screenshot)

    allowed = direct.allowed
    description = await bounded(allowed.describe(), "the direct run described", RPC_TIMEOUT)
    url = workflow_url(stack.ui_url, allowed.id, description.run_id, "memo")
    page = await render(url, results / "ui-memo.png", scratch)
    check_memo(page, allowed.id, direct.admin)
    logger.info("memo of %s shown: %s", allowed.id, page.screenshot)


async def check(results: Path) -> None:
    """Run the whole check (see the module docstring)."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ember-ui-check-") as scratch_dir:
        scratch = Path(scratch_dir)
        temporal_port, ui_port = two_free_ports()
        stack = DevStack(
            scratch / "stack",
            temporal_port=temporal_port,
            ui_port=ui_port,
            tables=[Base.metadata],
            seed=seed_demo_rows,
        )
        try:
            try:
                await bounded(stack.start(), "the dev stack to start", STACK_TIMEOUT)
            except RuntimeError as error:  # e.g. a port taken since it was picked
                raise SetupFailed(str(error)) from error
            logger.info(
                "dev stack up in %.1fs: Temporal %s, UI %s",
                time.monotonic() - started,
                stack.temporal_address,
                stack.ui_url,
            )
            settings = Settings(
                database_url=stack.database_url, temporal_address=stack.temporal_address
            )
            worker = EmberWorker(helpdesk, settings, client=stack.client)
            await bounded(worker.__aenter__(), "the Ember worker to start", WORKER_START_TIMEOUT)
            try:
                await bounded(scan_now(worker), "the trigger schedules fired", RPC_TIMEOUT)
                await check_pages(stack, results, scratch)
            finally:
                await bounded(worker.shutdown(), "the Ember worker to stop", SHUTDOWN_TIMEOUT)
        finally:
            await bounded(stack.stop(), "the dev stack to stop", SHUTDOWN_TIMEOUT)
    logger.info("ui-check passed in %.1fs", time.monotonic() - started)


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description="Check the Temporal UI shows Ember's workflows.")
    parser.add_argument(
        "--results", type=Path, default=RESULTS, help="where the screenshots go (bench/results)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("temporalio").setLevel(logging.WARNING)
    try:
        if not CHROMIUM.is_file():
            raise SetupFailed(
                f"expected Chromium at {CHROMIUM}, found nothing; fix: apt-get install "
                "chromium (or run `make ui-check`, which does)"
            )
        asyncio.run(check(args.results.resolve()))
    except CheckFailed as error:
        print(f"ui-check FAILED: {error}", file=sys.stderr)
        return 1
    except SetupFailed as error:
        print(f"ui-check could not run: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
