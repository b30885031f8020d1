"""Ember's own tables, in the application's database."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Integer,
    MetaData,
    Table,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine

ember_metadata = MetaData()
"""Add to your Alembic ``target_metadata`` (a list) to migrate Ember's tables."""

trigger_completions = Table(
    "ember_trigger_completions",
    ember_metadata,
    Column("trigger_key", Text, primary_key=True),
    Column("tenant", Text, primary_key=True),
    Column("record_key", Text, primary_key=True),
    Column("completed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

outbox = Table(
    "ember_outbox",
    ember_metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("workflow_id", Text, nullable=False),
    Column("request", JSONB, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
"""Rows waiting for the relay. A row whose start failed ``OUTBOX_MAX_ATTEMPTS`` times
stays as a dead letter (with ``last_error``); set ``attempts = 0`` to redeliver it."""

OUTBOX_MAX_ATTEMPTS = 10


async def create_ember_tables(engine: AsyncEngine) -> None:
    """Create Ember's tables if they are missing (idempotent)."""
    async with engine.begin() as connection:
        await connection.run_sync(ember_metadata.create_all)
