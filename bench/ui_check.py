"""Check that the Temporal web UI of the dev stack shows Ember's workflows and their data.

    python -m bench.ui_check          # or: make ui-check

Starts a :class:`~ember.workflows.testing.devstack.DevStack` in a temporary root on free
ports, runs an :class:`~ember.EmberWorker` for the helpdesk example against it, fires every
trigger schedule once (:func:`ember.workflows.testing.devstack.scan_now`), runs
``escalate_urgent_now`` for one ticket as an admin (so one run carries an actor in its
memo) and waits until some ``escalate_stale`` record workflows have completed. Then
headless Chromium renders three UI pages and saves a screenshot of each in
``bench/results/`` (and, for a page that fails its check, the rendered DOM beside it as
``.html``):

- ``ui.png``: the workflow list filtered by ``EmberTrigger="escalate_stale"``; it must list
  record workflows (ids ``ember/helpdesk/tickets/escalate_stale/...``, type
  ``ember.RecordTrigger``).
- ``ui-detail.png``: the *Search Attributes* tab of one of them; it must show Ember's five
  search attributes and the trigger's name.
- ``ui-summary.png``: its *User Metadata* tab; it must show the run's summary line
  (trigger, record, tenant).
- ``ui-memo.png``: the *Memo* tab of the direct run; it must show the actor reference.

Exits 0 when every page passes, 1 when a page lacks what it should show, 2 when something
does not start or does not finish in time; everything it started is stopped either way.
Needs ``/usr/bin/chromium`` (Debian's ``chromium`` package; ``make ui-check`` installs it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import logging
import os
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote

from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine
from temporalio.client import Client, WorkflowHandle

from ember.registry import naming
from ember.workflows.client import TriggerClient
from ember.workflows.settings import Settings
from ember.workflows.testing.devstack import DevStack, free_port, scan_now
from ember.workflows.worker import EmberWorker
from examples.helpdesk.app import helpdesk
from examples.helpdesk.models import Base, Ticket, User
from examples.helpdesk.seed import seed_demo_rows

logger = logging.getLogger("ember.ui_check")
T = TypeVar("T")

CHROMIUM = Path("/usr/bin/chromium")
RESULTS = Path(__file__).resolve().parent / "results"
NAMESPACE = "default"
RESOURCE = "tickets"
TRIGGER = "escalate_stale"
DIRECT_TRIGGER = "escalate_urgent_now"
WINDOW = "1600,1000"
# Virtual time Chromium gives the page (its timers; it also waits for pending fetches)
# before it takes the screenshot and dumps the DOM.
RENDER_BUDGET_MS = 15_000
# Flags that keep Chromium off the network (refused here) and out of any real profile.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)

STACK_TIMEOUT = 120.0
WORKER_START_TIMEOUT = 60.0
WORKFLOWS_TIMEOUT = 90.0
CHROMIUM_TIMEOUT = 90.0
SHUTDOWN_TIMEOUT = 60.0
RPC_TIMEOUT = 30.0
POLL_EVERY = 0.5


class CheckFailed(Exception):
    """The UI did not show what it should (exit status 1)."""


class SetupFailed(Exception):
    """Something did not start or did not finish in time (exit status 2)."""


@dataclass
class Page:
    """One page rendered by headless Chromium."""

    url: str
    screenshot: Path
    dom: str

    def keep_dom(self) -> Path:
        """Save the rendered DOM beside the screenshot (for a failure); return its path."""
        path = self.screenshot.with_suffix(".html")
        path.write_text(self.dom, encoding="utf-8")
        return path


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


def record_id_prefix() -> str:
    """What every ``escalate_stale`` record workflow id starts with."""
    return naming.schedule_id(helpdesk.name, RESOURCE, TRIGGER) + "/"


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


async def start_direct_run(stack: DevStack) -> tuple[WorkflowHandle[Any, Any], int]:
    """Run ``escalate_urgent_now`` for one urgent ticket as its organisation's admin.

    Returns:
        The run's handle and the admin's user id (the actor reference in its memo).
    """
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
            ticket = await connection.scalar(
                select(Ticket.id)
                .where(Ticket.organisation == admin.organisation, Ticket.priority == "urgent")
                # Not open first: escalate_stale leaves those alone, so no race over them.
                .order_by(Ticket.status == "open", Ticket.id)
            )
            if ticket is None:
                raise SetupFailed(
                    f"expected an urgent ticket of {admin.organisation} in the demo rows, "
                    "found none"
                )
    finally:
        await engine.dispose()
    handle = await TriggerClient(stack.client, helpdesk).run_trigger(
        (Ticket, ticket),
        DIRECT_TRIGGER,
        tenant=admin.organisation,
        actor_ref={"type": User.__tablename__, "id": admin.id},
    )
    return handle, int(admin.id)


async def run_chromium(args: list[str], profile: Path, timeout: float) -> str:
    """Run headless Chromium with ``args``; return its stdout.

    Raises:
        SetupFailed: it failed or did not finish within ``timeout`` seconds (then it and
            its helper processes are killed).
    """
    command = [
        str(CHROMIUM),
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        f"--window-size={WINDOW}",
        f"--virtual-time-budget={RENDER_BUDGET_MS}",
        *args,
    ]
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # its own process group, so a timeout kills the helpers too
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        raise SetupFailed(
            f"expected Chromium to render within {timeout:g}s, found it still running; "
            f"command: {' '.join(command)}"
        ) from None
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
    if process.returncode != 0:
        tail = stderr.decode(errors="replace")[-2000:]
        raise SetupFailed(
            f"expected Chromium to exit 0, found {process.returncode}; "
            f"command: {' '.join(command)}\n{tail}"
        )
    return stdout.decode(errors="replace")


def fresh_files(*paths: Path) -> None:
    """Make the directories of ``paths`` and remove older files there."""
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)


def written(path: Path) -> bool:
    """Whether ``path`` is a non-empty file."""
    return path.is_file() and path.stat().st_size > 0


async def render(url: str, screenshot: Path, scratch: Path) -> Page:
    """Screenshot ``url`` to ``screenshot``; return the page with its rendered DOM.

    One Chromium run with a fresh profile. A DOM kept by an earlier failure is removed.
    """
    fresh_files(screenshot, screenshot.with_suffix(".html"))
    profile = Path(tempfile.mkdtemp(prefix="chromium-", dir=scratch))
    dom = await run_chromium(
        [f"--screenshot={screenshot}", "--dump-dom", url], profile, CHROMIUM_TIMEOUT
    )
    if not written(screenshot):
        raise SetupFailed(f"expected Chromium to write {screenshot}, found no file")
    return Page(url, screenshot, dom)


def check_list(page: Page) -> int:
    """How many record workflow ids the list page shows.

    Raises:
        CheckFailed: it shows no record workflow.
    """
    prefix = record_id_prefix()
    ids = page.dom.count(prefix)
    types = page.dom.count(naming.RECORD_WORKFLOW)
    if not ids or not types:
        raise CheckFailed(
            f"expected the workflow list at {page.url} to show {TRIGGER} record workflows "
            f"(ids starting {prefix!r}, type {naming.RECORD_WORKFLOW!r}), found {ids} ids and "
            f"{types} type names; see {page.screenshot} and {page.keep_dom()}"
        )
    return ids


def check_search_attributes(page: Page, workflow_id: str) -> None:
    """The page must show ``workflow_id``, Ember's search attributes and the trigger.

    Raises:
        CheckFailed: something is missing.
    """
    expected = [workflow_id, *naming.SEARCH_ATTRIBUTES, TRIGGER, RESOURCE]
    missing = [text for text in expected if text not in page.dom]
    if missing:
        raise CheckFailed(
            f"expected the search attributes tab at {page.url} to show {expected}, "
            f"found {missing} missing; see {page.screenshot} and {page.keep_dom()}"
        )


def check_user_metadata(page: Page, workflow_id: str, summary: str) -> None:
    """The page must show ``workflow_id`` and its summary line (trigger, record, tenant).

    Raises:
        CheckFailed: something is missing.
    """
    # The UI renders the summary in an iframe whose address carries it, URL-encoded.
    shown = unquote(html.unescape(page.dom)) if "user-metadata-summary" in page.dom else ""
    missing = [text for text in (workflow_id, summary) if text not in shown]
    if missing:
        raise CheckFailed(
            f"expected the user metadata tab at {page.url} to show the summary {summary!r}, "
            f"found {missing} missing; see {page.screenshot} and {page.keep_dom()}"
        )


def check_memo(page: Page, workflow_id: str, admin: int) -> None:
    """The page must show ``workflow_id`` and the actor reference in its memo.

    Raises:
        CheckFailed: something is missing.
    """
    expected = [workflow_id, "actor", "ref", User.__tablename__, str(admin)]
    missing = [text for text in expected if text not in page.dom]
    if missing:
        raise CheckFailed(
            f"expected the memo tab at {page.url} to show the actor reference "
            f'{{"ref": {{"type": "{User.__tablename__}", "id": {admin}}}}}, found {missing} '
            f"missing; see {page.screenshot} and {page.keep_dom()}"
        )


async def check_pages(stack: DevStack, results: Path, scratch: Path) -> None:
    """Run the workflows the pages show, then render and check each page."""
    direct, admin = await bounded(
        start_direct_run(stack), f"the {DIRECT_TRIGGER} run to start", RPC_TIMEOUT
    )
    count = await bounded(
        wait_for_records(stack.client, WORKFLOWS_TIMEOUT),
        f"completed {TRIGGER} record workflows",
        WORKFLOWS_TIMEOUT + RPC_TIMEOUT,
    )
    logger.info("%d %s record workflows completed", count, TRIGGER)
    outcome = await bounded(direct.result(), f"the {DIRECT_TRIGGER} run", WORKFLOWS_TIMEOUT)
    logger.info("direct run %s by user %d: %s", direct.id, admin, outcome)

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

    description = await bounded(direct.describe(), "the direct run described", RPC_TIMEOUT)
    url = workflow_url(stack.ui_url, direct.id, description.run_id, "memo")
    page = await render(url, results / "ui-memo.png", scratch)
    check_memo(page, direct.id, admin)
    logger.info("memo of %s shown: %s", direct.id, page.screenshot)


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
