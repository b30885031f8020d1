"""Fixtures shared by the integration and fault tests: servers, databases, task queues.

Every server fixture is lazy: a test that asks for none of them (all of ``tests/unit``)
starts nothing. PostgreSQL and the Temporal servers start once per session; each test
gets its own database (a copy of a template holding the helpdesk and Ember tables) and
its own task queue, so no test sees another's rows or tasks.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool
from temporalio.testing import WorkflowEnvironment

from examples.helpdesk.models import Base
from registry import ember_metadata
from workflows.testing.servers import LocalPostgres, start_dev_server, start_test_server

TEMPLATE_DATABASE = "ember_template"


@pytest.fixture(scope="session")
def local_postgres() -> Iterator[LocalPostgres]:
    """A throwaway PostgreSQL cluster for the whole session, deleted afterwards."""
    # Not under pytest's basetemp: a concurrent pytest run resets its parent's mode to
    # 0700, which would lock out the unprivileged user postgres runs as under root.
    server = LocalPostgres.start(Path(tempfile.mkdtemp(prefix="ember-pg-")), keep=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def ember_template(local_postgres: LocalPostgres) -> str:
    """Name of the template database holding the helpdesk and Ember tables."""
    await local_postgres.drop_database(TEMPLATE_DATABASE)
    url = await local_postgres.create_database(TEMPLATE_DATABASE)
    engine = create_async_engine(url, poolclass=NullPool)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
        await connection.run_sync(ember_metadata.create_all)
    await engine.dispose()
    return TEMPLATE_DATABASE


@pytest.fixture
async def database_url(local_postgres: LocalPostgres, ember_template: str) -> AsyncIterator[str]:
    """URL of a fresh copy of the template, dropped after the test."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    url = await local_postgres.create_database(name, template=ember_template)
    yield url
    await local_postgres.drop_database(name)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the test's database, disposed after the test."""
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The Temporal dev server (in memory) with Ember's search attributes."""
    async with await start_dev_server() as env:
        yield env


@pytest.fixture(scope="session")
async def test_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server with Ember's search attributes (no Schedules)."""
    async with await start_test_server() as env:
        yield env


@pytest.fixture
def task_queue() -> str:
    """A task queue no other test uses."""
    return f"test-{uuid.uuid4().hex}"
