"""Helpers shared by the integration tests: unique domains, a running worker, rows."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from temporalio.testing import WorkflowEnvironment

from ember.registry import ActionContext, Domain, Trigger
from ember.workflows.client import TriggerClient
from ember.workflows.settings import Settings
from ember.workflows.testing.servers import temporal_binary
from ember.workflows.worker import EmberWorker
from examples.helpdesk.models import Organisation, Ticket, User

LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def unique_domain(prefix: str = "t") -> Domain:
    """A domain whose name no other test uses, so Temporal ids never meet."""
    return Domain(f"{prefix}{uuid.uuid4().hex[:10]}")


def escalating(name: str = "escalate", **options: Any) -> Trigger:
    """A trigger (in a new domain) escalating every ticket not yet escalated."""
    tickets = unique_domain().resource(Ticket)

    @tickets.action
    async def escalate(ticket: Ticket, ctx: ActionContext) -> None:
        ticket.escalated = True

    return tickets.trigger(
        name, action=escalate, where=Ticket.escalated.is_(False), scheduler_cron=None, **options
    )


@asynccontextmanager
async def running(
    domain: Domain,
    env: WorkflowEnvironment,
    database_url: str,
    *,
    search_attributes: bool = True,
    queues: dict[str, int] | None = None,
    sync: bool = False,
    **settings: Any,
) -> AsyncIterator[TriggerClient]:
    """Run an EmberWorker for ``domain`` and yield a client of it."""
    worker_settings = Settings(
        database_url=database_url,
        queues=queues or dict.fromkeys(domain.queues, 10),
        **settings,
    )
    async with EmberWorker(
        domain,
        worker_settings,
        client=env.client,
        sync=sync,
        search_attributes=search_attributes,
    ):
        yield await TriggerClient.from_settings(
            domain, worker_settings, client=env.client, search_attributes=search_attributes
        )


async def add_organisations(engine: AsyncEngine, *slugs: str) -> None:
    """Insert organisations (the helpdesk's tenants)."""
    async with engine.begin() as connection:
        await connection.execute(
            insert(Organisation), [{"slug": slug, "name": slug.title()} for slug in slugs]
        )


async def add_tickets(
    engine: AsyncEngine, count: int, *, organisation: str = "acme", first_id: int = 1, **fields: Any
) -> list[int]:
    """Insert ``count`` open tickets (creating the organisation if needed); return their ids."""
    async with engine.begin() as connection:
        exists = await connection.scalar(
            select(Organisation.slug).where(Organisation.slug == organisation)
        )
        if exists is None:
            await connection.execute(insert(Organisation).values(slug=organisation, name="Org"))
        rows = [
            {
                "id": first_id + i,
                "organisation": organisation,
                "subject": f"ticket {first_id + i}",
                "updated_at": LONG_AGO,
                **fields,
            }
            for i in range(count)
        ]
        await connection.execute(insert(Ticket), rows)
    return [row["id"] for row in rows]


async def ticket_values(engine: AsyncEngine, column: str, ids: Sequence[int]) -> list[Any]:
    """One column of the given tickets, in id order."""
    async with engine.connect() as connection:
        result = await connection.execute(
            select(getattr(Ticket, column)).where(Ticket.id.in_(ids)).order_by(Ticket.id)
        )
        return list(result.scalars())


def hours_ago(hours: float) -> datetime:
    """A timestamp ``hours`` in the past."""
    return datetime.now(UTC) - timedelta(hours=hours)


async def temporal_cli(env: WorkflowEnvironment, *args: str) -> Any:
    """Run the ``temporal`` CLI against ``env`` with JSON output; return the parsed JSON."""
    process = await asyncio.create_subprocess_exec(
        temporal_binary(),
        *args,
        "--address",
        env.client.service_client.config.target_host,
        "--output",
        "json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        raise AssertionError(f"temporal {' '.join(args)} failed: {err.decode()}")
    text = out.decode().strip()
    if text.startswith(("[", "{")):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


async def add_user(engine: AsyncEngine, user_id: int, name: str, *, is_admin: bool = False) -> User:
    """Insert a user of acme (creating acme if needed); return it as application code holds it."""
    async with engine.begin() as connection:
        await connection.execute(
            pg_insert(Organisation).values(slug="acme", name="Acme").on_conflict_do_nothing()
        )
        await connection.execute(
            insert(User).values(id=user_id, organisation="acme", name=name, is_admin=is_admin)
        )
    async with AsyncSession(engine, expire_on_commit=False) as session:
        found = await session.get(User, user_id)
    assert found is not None
    return found
