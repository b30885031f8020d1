"""create_ember_tables: Ember's tables in an application's database, as the README says."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from ember.registry import create_ember_tables, ember_metadata
from ember.workflows.testing.servers import LocalPostgres

README = Path(__file__).resolve().parents[2] / "README.md"


async def test_the_tables_are_created_once_and_a_second_call_changes_nothing(
    local_postgres: LocalPostgres,
) -> None:
    name = f"empty_{uuid.uuid4().hex[:12]}"
    engine = create_async_engine(await local_postgres.create_database(name), poolclass=NullPool)
    try:
        await create_ember_tables(engine)
        await create_ember_tables(engine)
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
            outbox_columns = await connection.run_sync(
                lambda c: {column["name"] for column in inspect(c).get_columns("ember_outbox")}
            )
    finally:
        await engine.dispose()
        await local_postgres.drop_database(name)
    assert tables == {"ember_outbox", "ember_trigger_completions"}
    assert outbox_columns == set(ember_metadata.tables["ember_outbox"].columns.keys())


def test_the_readme_names_the_tables_and_the_alembic_metadata() -> None:
    text = README.read_text()
    for table in ember_metadata.tables:
        assert f"`{table}`" in text, table
    assert "ember.ember_metadata]" in text and "target_metadata" in text
