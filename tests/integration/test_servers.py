"""The local servers start, run a workflow whose activity uses Postgres, and isolate tests."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    import pytest
    from sqlalchemy import MetaData, func, insert, select
    from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest

    from ember.registry.naming import SEARCH_ATTRIBUTES, TRIGGER_ATTRIBUTE
    from ember.workflows.testing.databases import TemplateDatabases
    from ember.workflows.testing.extras import MissingExtra
    from ember.workflows.testing.servers import (
        LocalPostgres,
        _binary,
        pid_alive,
        temporal_binary,
        temporal_test_server_binary,
    )
    from examples.helpdesk.models import Organisation

TRIGGER_KEY = SearchAttributeKey.for_keyword(TRIGGER_ATTRIBUTE)


@dataclass
class RoundTripInput:
    database_url: str
    slug: str
    sleep_seconds: float = 0


@activity.defn
async def write_and_read_back(request: RoundTripInput) -> str:
    """Insert an organisation, then read its name back in a new transaction."""
    engine = create_async_engine(request.database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                insert(Organisation).values(slug=request.slug, name=f"Org {request.slug}")
            )
        async with engine.connect() as connection:
            name = await connection.scalar(
                select(Organisation.name).where(Organisation.slug == request.slug)
            )
        return str(name)
    finally:
        await engine.dispose()


@workflow.defn
class RoundTripWorkflow:
    @workflow.run
    async def run(self, request: RoundTripInput) -> str:
        await workflow.sleep(request.sleep_seconds)
        name = await workflow.execute_activity(
            write_and_read_back, request, start_to_close_timeout=timedelta(seconds=30)
        )
        return f"{name} / {workflow.info().typed_search_attributes.get(TRIGGER_KEY)}"


async def round_trip(client: Client, database_url: str, task_queue: str, sleep: float) -> str:
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[RoundTripWorkflow],
        activities=[write_and_read_back],
    ):
        return await client.execute_workflow(
            RoundTripWorkflow.run,
            RoundTripInput(database_url, "probe", sleep),
            id=f"round-trip-{uuid.uuid4()}",
            task_queue=task_queue,
            search_attributes=TypedSearchAttributes([SearchAttributePair(TRIGGER_KEY, "t")]),
        )


async def organisation_count(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(Organisation)) or 0)


async def test_dev_server_runs_a_workflow_whose_activity_uses_postgres(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine, task_queue: str
) -> None:
    result = await round_trip(dev_env.client, database_url, task_queue, 0)
    assert result == "Org probe / t"
    assert await organisation_count(engine) == 1


async def test_time_skipping_server_runs_it_and_skips_an_hour(
    test_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine, task_queue: str
) -> None:
    started = time.monotonic()
    result = await round_trip(test_env.client, database_url, task_queue, 3600)
    assert result == "Org probe / t"
    assert time.monotonic() - started < 30
    assert await organisation_count(engine) == 1


async def test_dev_server_registers_ember_search_attributes(dev_env: WorkflowEnvironment) -> None:
    listed = await dev_env.client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=dev_env.client.namespace)
    )
    keyword = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
    registered = {name: listed.custom_attributes.get(name) for name in SEARCH_ATTRIBUTES}
    assert registered == dict.fromkeys(SEARCH_ATTRIBUTES, keyword)


async def test_a_row_written_in_one_copy_is_absent_from_a_fresh_copy(
    local_postgres: LocalPostgres,
    ember_template_databases: TemplateDatabases,
    ember_tables: list[MetaData],
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as connection:
        await connection.execute(insert(Organisation).values(slug="mine", name="Mine"))
    assert await organisation_count(engine) == 1
    other = f"other_{uuid.uuid4().hex[:12]}"
    other_engine = create_async_engine(
        await local_postgres.create_database(
            other, template=await ember_template_databases.template_for(ember_tables)
        )
    )
    try:
        assert await organisation_count(other_engine) == 0
    finally:
        await other_engine.dispose()
        await local_postgres.drop_database(other)


def test_throwaway_postgres_deletes_its_data_and_stops_once() -> None:
    data = Path(tempfile.mkdtemp(prefix="ember-pg-")) / "pg"
    server = LocalPostgres.start(data, keep=False)
    assert (data / "PG_VERSION").exists()
    assert server.url("app").startswith("postgresql+psycopg://postgres@/app?host=")
    with pytest.raises(RuntimeError, match="one LocalPostgres per data directory"):
        LocalPostgres.start(data, keep=False)
    server.stop()
    server.stop()
    assert not data.exists()


HOLD_POSTGRES = """
import sys, time
from pathlib import Path
from ember.workflows.testing.servers import LocalPostgres
LocalPostgres.start(Path(sys.argv[1]), keep=False)
print("up", flush=True)
time.sleep(3600)
"""


async def test_a_killed_owners_throwaway_postgres_is_stopped_and_deleted() -> None:
    data = Path(tempfile.mkdtemp(prefix="ember-pg-")) / "pg"
    log = data.parent / "owner.log"
    with log.open("wb") as output:
        owner = await asyncio.create_subprocess_exec(
            *[sys.executable, "-c", HOLD_POSTGRES, str(data)],
            cwd=Path(__file__).parents[2],
            stdout=output,
        )
    try:
        for _ in range(300):
            if log.read_bytes().startswith(b"up") or owner.returncode is not None:
                break
            await asyncio.sleep(0.1)
        postmaster = int((data / "postmaster.pid").read_text().split()[0])
    finally:
        owner.kill()  # no atexit, no stop(): only the watchdog is left to clean up
        await owner.wait()
    for _ in range(300):
        if not data.exists() and not pid_alive(postmaster):
            break
        await asyncio.sleep(0.1)
    assert not pid_alive(postmaster)
    assert not data.exists()
    log.unlink()
    data.parent.rmdir()


def test_binaries_are_found_and_a_missing_one_names_its_package() -> None:
    assert Path(temporal_binary()).name == "temporal"
    assert Path(temporal_test_server_binary()).name == "temporal-test-server"
    with pytest.raises(MissingExtra, match=r"expected the some-package package .* fix: pip"):
        _binary("ember-no-such-binary", "some-package")
