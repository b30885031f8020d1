"""What operators see of runs: the UI's summary and details, and `status` counts."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from ember.registry import ActionContext, naming
from ember.workflows.status import trigger_status
from examples.helpdesk.models import Ticket
from tests.integration.support import add_tickets, escalating, running, unique_domain
from tests.integration.waiting import eventually


async def test_record_and_chunk_runs_carry_a_summary_and_details(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    direct_id, *_ = await add_tickets(engine, 3, organisation="acme")
    domain = unique_domain()
    tickets = domain.resource(Ticket, tenant_column="organisation", list_tenants=["acme"])

    @tickets.action
    async def escalate(ticket: Ticket, ctx: ActionContext) -> None:
        ticket.escalated = True

    single = tickets.trigger("escalate", action=escalate, scheduler_cron=None, max_attempts=4)
    chunked = tickets.trigger("in_chunks", action=escalate, scheduler_cron=None, chunk_size=2)
    async with running(domain, dev_env, database_url) as ember:
        direct = await ember.run_trigger((Ticket, direct_id), single, tenant="acme")
        await direct.result()
        await ember.schedule_and_run_triggers(chunked)
        chunk = dev_env.client.get_workflow_handle(
            naming.chunk_workflow_id(domain.name, "tickets", "in_chunks", "acme", "1", "2")
        )
        record, chunk_run = await direct.describe(), await chunk.describe()
    assert await record.static_summary() == f"tickets.escalate {direct_id} (acme)"
    details = await record.static_details() or ""
    for part in (
        "**Trigger** `tickets.escalate` runs `escalate`",
        f"**Record** `{direct_id}`",
        "**Tenant** `acme`",
        "**Started by** direct",
        "up to 4 attempts",
    ):
        assert part in details, details
    assert await chunk_run.static_summary() == "tickets.in_chunks 1..2 (acme)"
    assert "**Started by** trigger" in (await chunk_run.static_details() or "")


async def test_status_counts_recent_record_and_chunk_runs_by_outcome(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    await add_tickets(engine, 5)
    single, chunked = escalating(), escalating("in_chunks", chunk_size=3)
    async with running(single.resource.domain, dev_env, database_url) as ember:
        await ember.schedule_and_run_triggers(single)
    async with engine.begin() as connection:
        await connection.execute(update(Ticket).values(escalated=False))
    async with running(chunked.resource.domain, dev_env, database_url) as ember:
        await ember.schedule_and_run_triggers(chunked)

    async def counted() -> bool:
        rows = [await trigger_status(dev_env.client, engine, t) for t in (single, chunked)]
        return [(row.outcomes["succeeded"], row.running) for row in rows] == [(5, 0), (2, 0)]

    await eventually(counted, what="5 record runs and 2 chunk runs counted as succeeded")
