"""Fixtures shared by the integration and fault tests: servers, databases, task queues.

Every server fixture is lazy: a test that asks for none of them (all of ``tests/unit``)
starts nothing. PostgreSQL and the Temporal servers start once per session; each test
gets its own database (a copy of a template holding the helpdesk and Ember tables) and
its own task queue, so no test sees another's rows or tasks.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from temporalio.testing import WorkflowEnvironment

from ember.registry import ember_metadata
from ember.workflows.testing.servers import LocalPostgres, start_test_server
from examples.helpdesk.models import Base


@pytest.fixture(scope="session")
def ember_tables() -> list[MetaData]:
    """Every test database holds the helpdesk example's tables and Ember's own."""
    return [Base.metadata, ember_metadata]


@pytest.fixture(scope="session")
def local_postgres(ember_postgres: LocalPostgres) -> LocalPostgres:
    """The plugin's throwaway PostgreSQL cluster, shared by the whole session."""
    return ember_postgres


@pytest.fixture
def database_url(ember_database_url: str) -> str:
    """URL of the test's own database: the plugin's fresh copy of the template."""
    return ember_database_url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the test's database, disposed after the test."""
    engine = create_async_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def dev_env(ember_temporal: WorkflowEnvironment) -> WorkflowEnvironment:
    """The plugin's Temporal dev server (in memory) with Ember's search attributes."""
    return ember_temporal


@pytest.fixture(scope="session")
async def test_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server with Ember's search attributes (no Schedules)."""
    async with await start_test_server() as env:
        yield env


@pytest.fixture
def task_queue() -> str:
    """A task queue no other test uses."""
    return f"test-{uuid.uuid4().hex}"
