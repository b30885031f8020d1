"""Pytest plugin: fixtures that run an application's Ember triggers against real servers.

Installing ``ember-triggers`` registers this module as the ``ember`` pytest plugin. Every
fixture is lazy: a test that asks for none of them starts nothing. Tell Ember what to run
in your ``conftest.py``::

    import pytest
    from sqlalchemy import MetaData

    from myapp.models import Base
    from myapp.triggers import helpdesk
    from ember.registry import Domain, ember_metadata

    @pytest.fixture(scope="session")
    def ember_domain() -> Domain:
        return helpdesk

    @pytest.fixture(scope="session")
    def ember_tables() -> list[MetaData]:
        return [Base.metadata, ember_metadata]

and write tests like a user of Oban's ``drain_queue`` would::

    async def test_stale_tickets_are_escalated(ember, ember_database_url) -> None:
        ...  # insert rows through ember_database_url
        summary = await ember.schedule_and_run_triggers(helpdesk)
        assert summary == TriggerRunSummary(succeeded=3)

Fixtures:

- ``ember_postgres`` (session): a throwaway PostgreSQL server
  (:class:`ember.workflows.testing.servers.LocalPostgres`), or the existing server whose URL is in
  ``EMBER_TEST_DATABASE_URL`` (its user needs CREATEDB).
- ``ember_tables`` (session): the ``MetaData`` created in each test database; default
  Ember's own tables only. Override it to add your models'.
- ``ember_database_url`` (function): URL of a fresh database holding ``ember_tables``,
  copied from a template (``ember_template_databases`` makes one per distinct
  ``ember_tables``) and dropped after the test.
- ``ember_temporal`` (session): a Temporal dev server with Ember's search attributes, or
  the server at ``EMBER_TEST_TEMPORAL_ADDRESS``.
- ``ember_domain``: the :class:`ember.Domain` under test. You must override it.
- ``ember_settings`` (function): the worker's :class:`ember.Settings`:
  the test database and every queue of the domain. Override it to add e.g. an
  ``actor_signing_key``.
- ``ember``: runs an :class:`ember.EmberWorker` for the domain while the test runs and
  yields a :class:`ember.TriggerClient`. Schedules are not synced (nothing
  runs on a cron behind the test's back): run scans with ``ember.start_scan(...)`` or
  ``ember.schedule_and_run_triggers(...)``. At teardown the domain's Ember workflows
  still running (snoozing runs, scans) are terminated, so no test inherits another's
  runs; this uses visibility, which the time-skipping test server lacks.

The async fixtures need ``pytest-asyncio``; in its strict mode, mark tests with
``@pytest.mark.asyncio``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

import pytest

if TYPE_CHECKING:
    from sqlalchemy import MetaData
    from temporalio.client import Client
    from temporalio.testing import WorkflowEnvironment

    from ember.registry import Domain
    from ember.workflows.client import TriggerClient
    from ember.workflows.settings import Settings
    from ember.workflows.testing.databases import DatabaseServer, TemplateDatabases

DATABASE_URL_VARIABLE = "EMBER_TEST_DATABASE_URL"
TEMPORAL_ADDRESS_VARIABLE = "EMBER_TEST_TEMPORAL_ADDRESS"
TEMPORAL_NAMESPACE_VARIABLE = "EMBER_TEST_TEMPORAL_NAMESPACE"
TEARDOWN_TIMEOUT = 10.0

F = TypeVar("F", bound=Callable[..., Any])


class _AsyncFixture(Protocol):
    def __call__(self, *, scope: str = ..., loop_scope: str | None = ...) -> Callable[[F], F]: ...


def _needs_pytest_asyncio(*, scope: str = "function", loop_scope: str | None = None) -> Any:
    """Stand-in for ``pytest_asyncio.fixture``: a fixture that says what is missing."""

    def decorate(function: Callable[..., Any]) -> Any:
        def missing() -> None:
            from ember.workflows.testing.extras import MissingExtra

            error = MissingExtra("pytest-asyncio", "no module named 'pytest_asyncio'")
            pytest.fail(f"{function.__name__} (an async fixture): {error}", pytrace=False)

        missing.__doc__ = function.__doc__
        return pytest.fixture(scope=scope, name=function.__name__)(missing)  # type: ignore[call-overload]

    return decorate


try:
    import pytest_asyncio

    async_fixture = cast(_AsyncFixture, pytest_asyncio.fixture)
except ImportError:  # pytest-asyncio is part of ember's testing extra
    async_fixture = cast(_AsyncFixture, _needs_pytest_asyncio)


@pytest.fixture(scope="session")
def ember_postgres() -> Iterator[DatabaseServer]:
    """A throwaway PostgreSQL server, or the one at ``EMBER_TEST_DATABASE_URL``."""
    url = os.environ.get(DATABASE_URL_VARIABLE)
    if url:
        from ember.workflows.testing.databases import ExistingPostgres

        yield ExistingPostgres(url)
        return
    from ember.workflows.testing.servers import LocalPostgres

    server = LocalPostgres.start(Path(tempfile.mkdtemp(prefix="ember-pg-")), keep=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def ember_tables() -> list[MetaData]:
    """The tables of each test database: Ember's own; override to add your models'."""
    from ember.registry import ember_metadata

    return [ember_metadata]


@async_fixture(scope="session", loop_scope="session")
async def ember_template_databases(
    ember_postgres: DatabaseServer,
) -> AsyncIterator[TemplateDatabases]:
    """The template databases test databases are copied from."""
    from ember.workflows.testing.databases import TemplateDatabases

    templates = TemplateDatabases(ember_postgres)
    yield templates
    await templates.drop_all()


@async_fixture(loop_scope="session")
async def ember_database_url(
    ember_postgres: DatabaseServer,
    ember_template_databases: TemplateDatabases,
    ember_tables: list[MetaData],
) -> AsyncIterator[str]:
    """URL of a fresh database holding ``ember_tables``, dropped after the test."""
    template = await ember_template_databases.template_for(ember_tables)
    name = f"ember_test_{uuid.uuid4().hex[:16]}"
    url = await ember_postgres.create_database(name, template=template)
    yield url
    await ember_postgres.drop_database(name)


@async_fixture(scope="session", loop_scope="session")
async def ember_temporal() -> AsyncIterator[WorkflowEnvironment]:
    """A Temporal dev server with Ember's search attributes, or ``EMBER_TEST_TEMPORAL_ADDRESS``."""
    from temporalio.testing import WorkflowEnvironment

    from ember.workflows.testing.servers import start_dev_server

    address = os.environ.get(TEMPORAL_ADDRESS_VARIABLE)
    if address:
        from temporalio.client import Client

        from ember.workflows.connection import ensure_search_attributes

        namespace = os.environ.get(TEMPORAL_NAMESPACE_VARIABLE, "default")
        client = await Client.connect(address, namespace=namespace)
        await ensure_search_attributes(client)
        yield WorkflowEnvironment.from_client(client)
        return
    async with await start_dev_server() as env:
        yield env


@pytest.fixture(scope="session")
def ember_domain() -> Domain:
    """The Domain under test: override this fixture in your conftest.py."""
    pytest.fail(
        "ember_domain: expected your ember.Domain, found no override of the fixture; "
        "fix: in conftest.py define\n"
        "    @pytest.fixture(scope='session')\n"
        "    def ember_domain() -> Domain:\n"
        "        return my_domain",
        pytrace=False,
    )


@pytest.fixture
def ember_settings(ember_domain: Domain, ember_database_url: str) -> Settings:
    """The worker's settings: the test database and every queue of the domain."""
    from ember.workflows.settings import DEFAULT_CONCURRENCY, Settings

    return Settings(
        database_url=ember_database_url,
        queues=dict.fromkeys(sorted(ember_domain.queues), DEFAULT_CONCURRENCY),
    )


@async_fixture(loop_scope="session")
async def ember(
    ember_domain: Domain, ember_temporal: WorkflowEnvironment, ember_settings: Settings
) -> AsyncIterator[TriggerClient]:
    """A client of a worker running ``ember_domain`` on the dev server during the test."""
    async with running_ember(ember_domain, ember_temporal, ember_settings) as client:
        yield client


@async_fixture(scope="session", loop_scope="session")
async def ember_test_temporal() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping Temporal test server (no Schedules, no visibility)."""
    from ember.workflows.testing.servers import start_test_server

    async with await start_test_server() as env:
        yield env


@async_fixture(loop_scope="session")
async def ember_time_skipping(
    ember_domain: Domain, ember_test_temporal: WorkflowEnvironment, ember_settings: Settings
) -> AsyncIterator[TriggerClient]:
    """Like ``ember``, on the time-skipping test server: backoffs and snoozes take no time.

    While a test waits on a run (a drain, ``handle.result()``), the server jumps its
    clock to the next timer, so three attempts with the default 15 s backoff, or a
    snooze of an hour, finish in seconds of wall time.
    """
    async with running_ember(ember_domain, ember_test_temporal, ember_settings) as client:
        yield client


@contextlib.asynccontextmanager
async def running_ember(
    domain: Domain, env: WorkflowEnvironment, settings: Settings
) -> AsyncIterator[TriggerClient]:
    """Run a worker for ``domain`` on ``env`` and yield a client of it.

    On the dev server, the domain's runs still running at the end are terminated.
    """
    from ember.workflows.client import TriggerClient
    from ember.workflows.worker import EmberWorker

    attributes = not env.supports_time_skipping  # the test server has no visibility
    async with (
        EmberWorker(domain, settings, client=env.client, sync=False, search_attributes=attributes),
        _time_skipping(env),
    ):
        try:
            yield await TriggerClient.from_settings(
                domain, settings, client=env.client, search_attributes=attributes
            )
        finally:
            if attributes:
                await terminate_runs(env.client, domain, prefix=settings.task_queue_prefix)


@contextlib.asynccontextmanager
async def _time_skipping(env: WorkflowEnvironment) -> AsyncIterator[None]:
    """On the test server, let its clock jump to the next timer whenever nothing runs.

    The SDK does that only while a test awaits a handle it started itself (and its
    unlocking would then count twice, so it is turned off here); Ember's runs are
    started by scans and awaited through handles got by id.
    """
    if not env.supports_time_skipping:
        yield
        return
    from temporalio.api.testservice.v1 import LockTimeSkippingRequest, UnlockTimeSkippingRequest

    with env.auto_time_skipping_disabled():
        await env.client.test_service.unlock_time_skipping(UnlockTimeSkippingRequest())
        try:
            yield
        finally:
            await env.client.test_service.lock_time_skipping(LockTimeSkippingRequest())


EMBER_FIXTURES = {"ember", "ember_time_skipping", "ember_database_url", "ember_settings"}


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_pycollect_makeitem(collector: Any, name: str, obj: object) -> Generator[None, Any, None]:
    """Run ``async def`` tests using Ember's fixtures on the session's event loop.

    The worker and Ember's servers and clients live on that loop, so a test on
    another loop would find the worker stopped. Marking the tests here spares
    projects any pytest-asyncio settings (a mark naming its own loop scope wins).
    """
    outcome = yield
    items = outcome.get_result()
    if not inspect.iscoroutinefunction(obj) or not isinstance(items, list):
        return
    for item in items:
        if not EMBER_FIXTURES & set(getattr(item, "fixturenames", ())):
            continue
        marker = item.get_closest_marker("asyncio")
        if marker is None or not {"loop_scope", "scope"} & set(marker.kwargs):
            item.add_marker(pytest.mark.asyncio(loop_scope="session"), append=False)


async def terminate_runs(
    client: Client, domain: Domain, *, prefix: str = "", timeout: float = TEARDOWN_TIMEOUT
) -> int:
    """Terminate every running Ember workflow of ``domain`` under task queue ``prefix``.

    Returns how many were.

    Waits until visibility lists none running (at most ``timeout`` seconds).
    """
    from temporalio.service import RPCError, RPCStatusCode

    from ember.registry import naming

    ids = naming.visibility_literal(naming.domain_prefix(domain.name, prefix))
    running = naming.visibility_literal("Running")
    query = f"WorkflowId STARTS_WITH {ids} AND ExecutionStatus = {running}"
    terminated: set[tuple[str, str | None]] = set()
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        listed = [(run.id, run.run_id) async for run in client.list_workflows(query)]
        if not listed:
            break
        for workflow_id, run_id in listed:
            if (workflow_id, run_id) in terminated:
                continue
            try:
                await client.get_workflow_handle(workflow_id, run_id=run_id).terminate(
                    reason="ember test teardown"
                )
            except RPCError as error:
                if error.status != RPCStatusCode.NOT_FOUND:  # NOT_FOUND: it ended meanwhile
                    raise
            terminated.add((workflow_id, run_id))
        await asyncio.sleep(0.1)
    return len(terminated)
