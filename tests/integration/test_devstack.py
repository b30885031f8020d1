"""``worker.py dev``: its stack starts, seeds once, resumes, stops; the command prints and stops."""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import signal
import socket
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.sql import Executable
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client, WorkflowExecutionStatus

from ember.registry.naming import SEARCH_ATTRIBUTES
from ember.workflows.status import not_succeeded_query
from ember.workflows.testing.devstack import DevStack, free_port, stop_leftovers
from examples.helpdesk.app import helpdesk
from examples.helpdesk.models import Base, Organisation, Ticket, User
from examples.helpdesk.seed import seed_demo_rows
from tests.integration.printed import PrintedLines

ROOT = Path(__file__).resolve().parents[2]
HELPDESK: dict[str, Any] = {"tables": [Base.metadata], "seed": seed_demo_rows}


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def state_files(root: Path) -> dict[str, bool]:
    """Whether PostgreSQL is running (its pid file) and whether Temporal kept its state."""
    return {
        "postmaster.pid": (root / "postgres" / "postmaster.pid").exists(),
        "temporal.db": (root / "temporal.db").exists(),
    }


@pytest.fixture
def root() -> Iterator[Path]:
    # Not under pytest's basetemp (see tests/conftest.py on its 0700 parent).
    path = Path(tempfile.mkdtemp(prefix="ember-dev-")) / ".ember"
    yield path
    stop_leftovers(path)  # only does something when a test failed half-way
    shutil.rmtree(path.parent, ignore_errors=True)


async def counts(url: str) -> dict[str, int]:
    engine = create_async_engine(url)
    now = datetime.now(UTC)
    stale = (Ticket.status == "open") & (Ticket.updated_at < now - timedelta(hours=4))
    old = (Ticket.status == "resolved") & (Ticket.updated_at < now - timedelta(days=7))
    queries: dict[str, Executable] = {
        "organisations": select(func.count()).select_from(Organisation),
        "users": select(func.count()).select_from(User),
        "admins": select(func.count()).select_from(User).where(User.is_admin),
        "tickets": select(func.count()).select_from(Ticket),
        "stale_open": select(func.count()).select_from(Ticket).where(stale),
        "old_resolved": select(func.count()).select_from(Ticket).where(old),
        "outbox": text("SELECT count(*) FROM ember_outbox"),
    }
    try:
        async with engine.connect() as connection:
            return {name: int(await connection.scalar(q) or 0) for name, q in queries.items()}
    finally:
        await engine.dispose()


async def test_dev_stack_seeds_once_resumes_its_state_and_stops_cleanly(root: Path) -> None:
    temporal_port, ui_port = free_port(), free_port()
    async with DevStack(root, temporal_port=temporal_port, ui_port=ui_port, **HELPDESK) as stack:
        assert stack.seeded == 600
        assert stack.temporal_log.exists(), "the server logs to a file, not the terminal"
        assert "/ember?host=" in stack.database_url
        seeded = await counts(stack.database_url)
        expected = {"organisations": 3, "users": 12, "admins": 3, "tickets": 600, "outbox": 0}
        assert {name: seeded[name] for name in expected} == expected
        assert seeded["stale_open"] > 100 and seeded["old_resolved"] > 50
        listed = await stack.client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace="default")
        )
        assert set(SEARCH_ATTRIBUTES) <= set(listed.custom_attributes)
        assert stack.temporal_address == f"127.0.0.1:{temporal_port}"
        page = await asyncio.to_thread(urllib.request.urlopen, stack.ui_url, timeout=10)
        assert page.status == 200
        await stack.client.start_workflow("Kept", id="kept-across-restarts", task_queue="none")
    assert port_is_free(temporal_port) and port_is_free(ui_port)
    assert state_files(root) == {"postmaster.pid": False, "temporal.db": True}

    async with DevStack(root, temporal_port=temporal_port, ui_port=ui_port, **HELPDESK) as again:
        assert again.seeded == 0
        assert await counts(again.database_url) == seeded
        kept = await again.client.get_workflow_handle("kept-across-restarts").describe()
        assert kept.status == WorkflowExecutionStatus.RUNNING
    assert state_files(root) == {"postmaster.pid": False, "temporal.db": True}


HOLD_STACK = """
import asyncio, sys
from examples.helpdesk.models import Base
from examples.helpdesk.seed import seed_demo_rows
from tests.integration.printed import PrintedLines
from ember.workflows.testing.devstack import DevStack

async def hold() -> None:
    async with DevStack(
        sys.argv[1],
        temporal_port=int(sys.argv[2]),
        ui_port=int(sys.argv[3]),
        tables=[Base.metadata],
        seed=seed_demo_rows,
    ):
        print("up", flush=True)
        await asyncio.sleep(3600)

asyncio.run(hold())
"""


async def test_a_live_stack_is_refused_and_a_killed_ones_servers_are_taken_over(
    root: Path,
) -> None:
    temporal_port, ui_port = free_port(), free_port()
    # Output to a file, not a pipe: the servers it leaves behind would hold a pipe open.
    log = root.parent / "holder.log"
    with log.open("wb") as output:
        holder = await asyncio.create_subprocess_exec(
            *[sys.executable, "-c", HOLD_STACK, str(root), str(temporal_port), str(ui_port)],
            cwd=Path(__file__).parents[2],
            stdout=output,
        )
    try:
        for _ in range(600):
            if log.read_bytes().startswith(b"up") or holder.returncode is not None:
                break
            await asyncio.sleep(0.1)
        assert log.read_bytes().startswith(b"up")
        with pytest.raises(RuntimeError, match=f"found process {holder.pid} running one"):
            await DevStack(root, temporal_port=free_port(), ui_port=free_port(), **HELPDESK).start()
    finally:
        holder.kill()  # no cleanup runs: Temporal and PostgreSQL are left behind
        await holder.wait()
    async with DevStack(root, temporal_port=temporal_port, ui_port=ui_port, **HELPDESK) as stack:
        assert stack.seeded == 0
        assert (await counts(stack.database_url))["tickets"] == 600
    assert port_is_free(temporal_port)
    assert state_files(root) == {"postmaster.pid": False, "temporal.db": True}


async def test_a_taken_port_fails_before_anything_starts(root: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        with pytest.raises(RuntimeError, match=f"port {port} .* --temporal-port"):
            await DevStack(root, temporal_port=port, ui_port=free_port(), **HELPDESK).start()
    assert state_files(root) == {"postmaster.pid": False, "temporal.db": False}


async def test_worker_py_dev_prints_its_links_and_progress_and_stops_on_ctrl_c(root: Path) -> None:
    temporal_port, ui_port = free_port(), free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "worker.py"),
        "--app",
        "examples.helpdesk.app:helpdesk",
        "dev",
        "--seed",
        "examples.helpdesk.seed:seed_demo_rows",
        "--root",
        str(root),
        "--temporal-port",
        str(temporal_port),
        "--ui-port",
        str(ui_port),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    output = PrintedLines(process, "worker.py dev")
    printed, read_until = output.lines, output.until
    try:
        await asyncio.wait_for(read_until("Press Ctrl-C to stop."), 120)
        await asyncio.wait_for(read_until("--- ember progress ---"), 60)
        await asyncio.wait_for(read_until("tickets.escalate_stale"), 10)
        export = output.starting("export ")
        status = await asyncio.create_subprocess_exec(
            "sh",
            "-c",
            f'{export} && exec "$0" worker.py status',
            sys.executable,
            cwd=ROOT,
            env={k: v for k, v in os.environ.items() if not k.startswith("EMBER_")},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        status_out, status_err = await asyncio.wait_for(status.communicate(), 120)
        failed_link = next(line for line in printed if "not succeeded" in line).split()[-1]
        failed_query = unquote(failed_link.partition("?query=")[2])
        client = await Client.connect(f"127.0.0.1:{temporal_port}")
        await client.count_workflows(failed_query)  # a query the server accepts
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(read_until("ember: dev stack stopped"), 60)
        code = await asyncio.wait_for(process.wait(), 30)
    finally:
        if process.returncode is None:
            process.kill()
    text_out = "".join(printed)
    ui = f"http://127.0.0.1:{ui_port}/namespaces/default/workflows?query=WorkflowType%3D"
    assert ui in text_out and f"127.0.0.1:{temporal_port}" in text_out, text_out
    assert "PostgreSQL    postgresql+psycopg://" in text_out
    state = root.resolve()  # noqa: ASYNC240 (no I/O: the path is absolute)
    assert f"(server log: {state / 'temporal.log'})" in text_out
    assert failed_query == not_succeeded_query(helpdesk)
    assert failed_link.startswith(f"http://127.0.0.1:{ui_port}/namespaces/default/workflows?")
    url = next(line for line in printed if "PostgreSQL  " in line).split()[-1]
    assert f"host={state / 'postgres'}" in url
    assert shlex.split(export) == [
        "export",
        "EMBER_APP=examples.helpdesk.app:helpdesk",
        f"EMBER_DATABASE_URL={url}",
        f"EMBER_TEMPORAL_ADDRESS=127.0.0.1:{temporal_port}",
    ]
    assert status.returncode == 0, status_err.decode()
    status_lines = status_out.decode().splitlines()
    assert any(line.startswith("tickets.escalate_stale ") for line in status_lines), status_lines
    assert any(line.startswith("tickets.daily_digest ") for line in status_lines), status_lines
    progress = next(line for line in printed if "tickets.escalate_stale" in line)
    assert "matching=" in progress and "running=" in progress, progress
    assert code == 0
    assert port_is_free(temporal_port) and port_is_free(ui_port), "servers stopped"
    assert not state_files(root)["postmaster.pid"], "PostgreSQL stopped"
