"""The ``ember`` pytest plugin, run the way users run it: pytest in a project of its own.

Each test writes a small project (``pytest.ini`` in asyncio strict mode, a conftest, tests)
into a temporary directory and runs pytest on it in a subprocess; the plugin loads from
the installed entry point, as it does for users. ``tests/plugin_example`` shows the
plugin in this suite's own process.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path

import psycopg
from temporalio.testing import WorkflowEnvironment

from ember.workflows.testing.servers import LocalPostgres

REPOSITORY = Path(__file__).resolve().parents[2]
PYTEST_INI = """\
[pytest]
asyncio_mode = strict
asyncio_default_fixture_loop_scope = function
asyncio_default_test_loop_scope = function
"""


async def run_pytest(project: Path, *args: str, **env: str) -> tuple[int, str]:
    """Run pytest on ``project``; return its exit code and output."""
    (project / "pytest.ini").write_text(PYTEST_INI)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "--setup-show",
        "-q",
        *args,
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def test_the_plugin_loads_lazily_and_asks_for_a_domain_before_starting_servers(
    tmp_path: Path,
) -> None:
    (tmp_path / "test_plain.py").write_text(
        "import sys\n"
        "def test_plain(pytestconfig):\n"
        "    assert pytestconfig.pluginmanager.has_plugin('ember')\n"
        "    assert 'ember.worker' not in sys.modules and 'temporalio' not in sys.modules\n"
    )
    (tmp_path / "test_forgot.py").write_text(
        "import pytest\n@pytest.mark.asyncio\nasync def test_forgot(ember):\n    pass\n"
    )
    code, output = await run_pytest(tmp_path)
    assert code == 1, output
    assert "1 passed, 1 error" in output, output
    (used,) = [line for line in output.splitlines() if "test_plain.py::test_plain" in line]
    assert "fixtures used:" in used and "ember" not in used, used
    assert "ember_domain: expected your ember.Domain, found no override" in output
    assert "def ember_domain() -> Domain:" in output
    for server in ("ember_postgres", "ember_temporal"):
        assert f"SETUP    S {server}" not in output, f"{server} started for nothing"


CONFTEST = """\
import os

import pytest

from examples.helpdesk.models import Base, Ticket
from ember.registry import ActionContext, Domain, Snooze, ember_metadata

domain = Domain(os.environ["EMBER_PLUGIN_DOMAIN"])
tickets = domain.resource(Ticket)


@tickets.action
async def wait_an_hour(ticket: Ticket, ctx: ActionContext) -> Snooze:
    return Snooze(3600)


tickets.trigger("sleepy", action=wait_an_hour, scheduler_cron=None)


@pytest.fixture(scope="session")
def ember_domain():
    return domain


@pytest.fixture(scope="session")
def ember_tables():
    return [Base.metadata, ember_metadata]
"""

TESTS = """\
import asyncio
import os
from pathlib import Path

import pytest
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import create_async_engine
from temporalio.client import WorkflowExecutionStatus

from examples.helpdesk.models import Organisation, Ticket

LEFT_BEHIND = Path(os.environ["EMBER_PLUGIN_STATE"])


@pytest.mark.asyncio
async def test_leaves_a_snoozing_run_behind(ember, ember_database_url):
    engine = create_async_engine(ember_database_url)
    async with engine.begin() as connection:
        await connection.execute(insert(Organisation).values(slug="acme", name="Acme"))
        await connection.execute(insert(Ticket).values(id=1, organisation="acme", subject="z"))
    await engine.dispose()
    handle = await ember.run_trigger((Ticket, 1), "sleepy")
    for _ in range(300):
        if await handle.query("state", result_type=str) == "snoozed":
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the run never snoozed")
    LEFT_BEHIND.write_text(f"{handle.id} {ember_database_url}")


@pytest.mark.asyncio
async def test_the_next_test_starts_clean(ember, ember_database_url):
    workflow_id, previous_database = LEFT_BEHIND.read_text().split(" ")
    description = await ember.client.get_workflow_handle(workflow_id).describe()
    assert description.status == WorkflowExecutionStatus.TERMINATED
    assert previous_database != ember_database_url
    engine = create_async_engine(ember_database_url)
    async with engine.connect() as connection:
        assert await connection.scalar(text("SELECT count(*) FROM tickets")) == 0
    await engine.dispose()
"""


async def test_each_test_gets_a_fresh_database_and_inherits_no_runs(
    tmp_path: Path, local_postgres: LocalPostgres, dev_env: WorkflowEnvironment
) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_two.py").write_text(TESTS)
    before = await plugin_databases(local_postgres)  # this session's own, made by the plugin too
    code, output = await run_pytest(
        tmp_path,
        EMBER_PLUGIN_DOMAIN=f"plugin{uuid.uuid4().hex[:10]}",
        EMBER_PLUGIN_STATE=str(tmp_path / "left_behind"),
        # The existing servers of this session, which the plugin can use instead of its own.
        EMBER_TEST_DATABASE_URL=local_postgres.url("postgres"),
        EMBER_TEST_TEMPORAL_ADDRESS=dev_env.client.service_client.config.target_host,
    )
    assert code == 0, output
    assert "2 passed" in output
    assert await plugin_databases(local_postgres) == before, "it dropped its databases"


async def plugin_databases(server: LocalPostgres) -> set[str]:
    """The test and template databases on ``server``."""
    admin = server.url("postgres").replace("+psycopg", "")
    async with await psycopg.AsyncConnection.connect(admin) as connection:
        cursor = await connection.execute(
            "SELECT datname FROM pg_database "
            "WHERE datname LIKE 'ember\\_test\\_%' OR datname LIKE 'ember\\_template\\_%'"
        )
        return {row[0] for row in await cursor.fetchall()}
