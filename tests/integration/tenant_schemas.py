"""The schema strategy's test data: a ``notes`` table per tenant schema, and decoys beside it."""

from __future__ import annotations

from sqlalchemy import Integer, Text, false, insert, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class SchemaBase(DeclarativeBase):
    """Models whose tables live once per tenant schema."""


class Note(SchemaBase):
    """A note; each tenant schema has its own ``notes`` table."""

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    done: Mapped[bool] = mapped_column(server_default=false())


SCHEMA_ROWS = {"t1": {1: "t1 one", 3: "t1 three"}, "t2": {1: "t2 one", 2: "t2 two"}}

LONG_TENANT = "l" * 64
"""One byte over PostgreSQL's identifier limit: it would name the schema ``TRUNCATED``."""
TRUNCATED = LONG_TENANT[:63]
DECOY_ROWS = {"public": {1: "public one", 2: "public two"}, TRUNCATED: {1: "truncated one"}}
"""``notes`` tables no missing tenant may reach: a search_path fallback or a truncated name."""


async def create_tenant_schemas(engine: AsyncEngine, rows: dict[str, dict[int, str]]) -> None:
    """A ``notes`` table in each schema of ``rows`` (created unless ``public``), holding them."""
    for schema, notes in rows.items():
        async with engine.begin() as connection:
            if schema != "public":
                await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            translated = await connection.execution_options(schema_translate_map={None: schema})
            await translated.run_sync(SchemaBase.metadata.create_all)
            await translated.execute(
                insert(Note), [{"id": i, "body": body} for i, body in notes.items()]
            )


async def done_notes(engine: AsyncEngine) -> dict[str, list[int]]:
    """The ids of done notes, per tenant schema."""
    found: dict[str, list[int]] = {}
    async with engine.connect() as connection:
        for schema in SCHEMA_ROWS:
            result = await connection.execute(
                text(f"SELECT id FROM {schema}.notes WHERE done ORDER BY id")
            )
            found[schema] = list(result.scalars())
    return found


async def all_notes(engine: AsyncEngine) -> dict[str, list[tuple[int, str, bool]]]:
    """Every note of every schema holding a ``notes`` table: (id, body, done)."""
    async with engine.connect() as connection:
        schemas = await connection.scalars(
            text("SELECT table_schema FROM information_schema.tables WHERE table_name = 'notes'")
        )
        found: dict[str, list[tuple[int, str, bool]]] = {}
        for schema in sorted(schemas):
            rows = await connection.execute(
                text(f'SELECT id, body, done FROM "{schema}".notes ORDER BY id')
            )
            found[schema] = [(row[0], row[1], row[2]) for row in rows]
    return found
