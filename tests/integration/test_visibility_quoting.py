"""Tenants and record keys holding quotes: drains, `status` and visibility queries built
with ``naming.visibility_literal`` (a real dev server).

Values with a backslash or a double quote are escaped as the query grammar says, but the
dev server's SQLite visibility store compares them re-escaped and matches nothing; the
quote, the case that broke queries, is matched exactly.
"""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from ember.registry import ActionContext, naming
from ember.registry.naming import visibility_literal
from ember.workflows.status import trigger_status
from ember.workflows.testing.plugin import terminate_runs
from examples.helpdesk.models import Organisation, Ticket
from tests.integration.support import add_organisations, add_tickets, running, unique_domain
from tests.integration.waiting import eventually

TENANT = "o'brien & co"
SLUG = "it's here"
INJECTION = "x' OR WorkflowId != 'x"


async def test_a_tenant_with_a_quote_is_drained_counted_and_found_by_query(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    await add_tickets(engine, 2, organisation=TENANT)
    await add_tickets(engine, 1, organisation="acme", first_id=10)
    domain = unique_domain()
    tickets = domain.resource(Ticket, tenant_column="organisation", list_tenants=[TENANT])

    @tickets.action
    async def escalate(ticket: Ticket, ctx: ActionContext) -> None:
        ticket.escalated = True

    trigger = tickets.trigger(
        "escalate", action=escalate, where=Ticket.escalated.is_(False), scheduler_cron=None
    )
    client = dev_env.client
    async with running(domain, dev_env, database_url) as ember:
        summary = await ember.schedule_and_run_triggers(trigger, tenant=TENANT)
        assert (summary.succeeded, summary.total) == (2, 2)

        async def status_counts_both() -> bool:
            status = await trigger_status(client, engine, trigger)
            return (status.outcomes["succeeded"], status.running) == (2, 0)

        await eventually(status_counts_both, what="status counting the tenant's 2 runs")
        runs = visibility_literal(f"{trigger.schedule_id}/")
        query = (
            f"{naming.TENANT_ATTRIBUTE} = {visibility_literal(TENANT)} "
            f"AND WorkflowId STARTS_WITH {runs}"
        )
        assert (await client.count_workflows(query)).count == 2
        with pytest.raises(RPCError):  # the value spliced in as it is ends the literal early
            await client.count_workflows(f"{naming.TENANT_ATTRIBUTE} = '{TENANT}'")
        spliced = f"{naming.TENANT_ATTRIBUTE} = '{INJECTION}' AND WorkflowId STARTS_WITH {runs}"
        assert (await client.count_workflows(spliced)).count > 0  # no tenant x, yet it matches
        quoted = f"{naming.TENANT_ATTRIBUTE} = {visibility_literal(INJECTION)}"
        assert (
            await client.count_workflows(f"{quoted} AND WorkflowId STARTS_WITH {runs}")
        ).count == 0
        assert await terminate_runs(client, domain) == 0


async def test_a_record_key_with_a_quote_is_run_and_found_by_query(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    await add_organisations(engine, SLUG, "plain")
    domain = unique_domain()
    organisations = domain.resource(Organisation)

    @organisations.action
    async def rename(organisation: Organisation, ctx: ActionContext) -> None:
        organisation.name = "renamed"

    trigger = organisations.trigger(
        "rename", action=rename, where=Organisation.name != "renamed", scheduler_cron=None
    )
    client = dev_env.client
    async with running(domain, dev_env, database_url) as ember:
        summary = await ember.schedule_and_run_triggers(trigger)
        assert (summary.succeeded, summary.total) == (2, 2)
        query = (
            f"{naming.RECORD_ATTRIBUTE} = {visibility_literal(SLUG)} "
            f"AND WorkflowId STARTS_WITH {visibility_literal(f'{trigger.schedule_id}/')}"
        )

        async def found() -> bool:
            return (await client.count_workflows(query)).count == 1

        await eventually(found, what=f"one run of record {SLUG!r} listed")
        listed = [run.id async for run in client.list_workflows(query)]
        assert listed == [trigger.workflow_id(None, SLUG)]
