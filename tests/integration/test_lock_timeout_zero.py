"""``EMBER_LOCK_TIMEOUT=0`` means "do not wait for a row lock", never PostgreSQL's "forever"."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from ember.registry import ActionContext
from examples.helpdesk.models import Ticket
from tests.integration.support import add_tickets, running, unique_domain


async def test_lock_timeout_zero_gives_up_the_lock_at_once_and_retries_later(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    attempts: list[int] = []
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action
    async def touch(ticket: Ticket, ctx: ActionContext) -> None:
        attempts.append(ctx.attempt)

    # An attempt may last 2 s; the row stays locked for 4 s. Waiting for the lock (what
    # PostgreSQL's lock_timeout = 0 does) would time the only attempt out.
    trigger = tickets.trigger(
        "touch", action=touch, scheduler_cron=None, max_attempts=1, timeout=timedelta(seconds=2)
    )
    async with (
        running(domain, dev_env, database_url, lock_timeout=0) as ember,
        engine.connect() as blocker,
    ):
        transaction = await blocker.begin()
        await blocker.execute(
            text("SELECT 1 FROM tickets WHERE id = :id FOR UPDATE"), {"id": ticket_id}
        )
        handle = await ember.run_trigger((Ticket, ticket_id), trigger)
        await asyncio.sleep(4)
        await transaction.commit()
        outcome = await handle.result()
    assert (outcome.status, outcome.attempts) == ("succeeded", 1)
    assert attempts == [1]
