"""Tenants: the attribute strategy's filter, per-tenant scans, and the schema strategy."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from ember.registry import ActionContext
from examples.helpdesk.app import organisations
from examples.helpdesk.models import Ticket
from tests.integration.support import add_tickets, running, ticket_values, unique_domain
from tests.integration.tenant_schemas import SCHEMA_ROWS, Note, create_tenant_schemas, done_notes
from tests.integration.waiting import workflow_status


async def test_a_run_for_one_tenant_never_reads_or_locks_another_tenants_row(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    await add_tickets(engine, 1, organisation="acme", first_id=1)
    (globex_id,) = await add_tickets(engine, 1, organisation="globex", first_id=2)
    seen: list[tuple[str | None, int]] = []
    domain = unique_domain()
    tickets = domain.resource(Ticket, tenant_column="organisation", list_tenants=["acme", "globex"])

    @tickets.action
    async def touch(ticket: Ticket, ctx: ActionContext) -> None:
        seen.append((ctx.tenant, ticket.id))
        ticket.subject = f"touched as {ctx.tenant}"

    trigger = tickets.trigger("touch", action=touch, scheduler_cron=None)
    async with running(domain, dev_env, database_url, lock_timeout=30) as ember:
        async with engine.connect() as blocker:
            transaction = await blocker.begin()
            locked = await blocker.scalar(
                select(Ticket.id).where(Ticket.id == globex_id).with_for_update()
            )
            assert locked == globex_id
            handle = await ember.run_trigger((Ticket, globex_id), trigger, tenant="acme")
            # globex's row stays locked: had acme's run tried to lock it, it would wait 30 s.
            outcome = await asyncio.wait_for(handle.result(), timeout=15)
            await transaction.rollback()
        own = await (
            await ember.run_trigger((Ticket, globex_id), trigger, tenant="globex")
        ).result()
    assert handle.id == trigger.workflow_id("acme", str(globex_id))
    assert (outcome.status, outcome.reason) == ("cancelled", "trigger_no_longer_applies")
    assert own.status == "succeeded"
    assert seen == [("globex", globex_id)], "acme's run never saw globex's row"
    assert await ticket_values(engine, "subject", [1, globex_id]) == [
        "ticket 1",
        "touched as globex",
    ]


async def test_scans_fan_out_per_tenant_from_lists_and_callables(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    by_tenant = {
        "acme": await add_tickets(engine, 3, organisation="acme", first_id=1),
        "globex": await add_tickets(engine, 2, organisation="globex", first_id=10),
        "initech": await add_tickets(engine, 1, organisation="initech", first_id=20),
    }
    seen: list[tuple[str, str | None, int]] = []
    domain = unique_domain()
    tickets = domain.resource(Ticket, tenant_column="organisation", list_tenants=["acme", "globex"])

    @tickets.action
    async def note(ticket: Ticket, ctx: ActionContext) -> None:
        assert ctx.trigger is not None
        seen.append((ctx.trigger, ctx.tenant, ticket.id))

    listed = tickets.trigger("listed", action=note, scheduler_cron=None)
    queried = tickets.trigger(
        "queried", action=note, scheduler_cron=None, list_tenants=organisations
    )
    only_globex = tickets.trigger(
        "only_globex", action=note, scheduler_cron=None, list_tenants=lambda: ["globex"]
    )
    async with running(domain, dev_env, database_url) as ember:
        summaries = {
            trigger.name: await ember.schedule_and_run_triggers(trigger)
            for trigger in (listed, queried, only_globex)
        }
        for trigger, tenants in (
            (listed, ("acme", "globex")),
            (queried, ("acme", "globex", "initech")),
            (only_globex, ("globex",)),
        ):
            for tenant, ids in by_tenant.items():
                expected = WorkflowExecutionStatus.COMPLETED if tenant in tenants else None
                for record in ids:
                    workflow_id = trigger.workflow_id(tenant, str(record))
                    assert workflow_id.endswith(f"/{trigger.name}/{tenant}/{record}")
                    assert await workflow_status(dev_env.client, workflow_id) == expected
    assert {name: summary.succeeded for name, summary in summaries.items()} == {
        "listed": 5,
        "queried": 6,
        "only_globex": 2,
    }
    assert all(summary.total == summary.succeeded for summary in summaries.values())

    def runs_of(name: str) -> list[tuple[str | None, int]]:
        return sorted((tenant, record) for trigger, tenant, record in seen if trigger == name)

    def tickets_of(*tenants: str) -> list[tuple[str | None, int]]:
        return sorted((tenant, record) for tenant in tenants for record in by_tenant[tenant])

    assert runs_of("listed") == tickets_of("acme", "globex")
    assert runs_of("queried") == tickets_of("acme", "globex", "initech")
    assert runs_of("only_globex") == tickets_of("globex")


async def test_run_triggers_takes_records_of_several_tenants_and_a_resource_drains_its_triggers(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    acme = await add_tickets(engine, 2, organisation="acme", first_id=1)
    globex = await add_tickets(engine, 1, organisation="globex", first_id=10)
    seen: list[tuple[str | None, str | None, int]] = []
    domain = unique_domain()
    tickets = domain.resource(Ticket, tenant_column="organisation", list_tenants=["acme", "globex"])

    @tickets.action
    async def note(ticket: Ticket, ctx: ActionContext) -> None:
        seen.append((ctx.trigger, ctx.tenant, ticket.id))

    first = tickets.trigger("first", action=note, scheduler_cron="@daily")
    tickets.trigger("second", action=note, scheduler_cron="@daily")
    async with AsyncSession(engine) as session:
        records = list(await session.scalars(select(Ticket).order_by(Ticket.id)))
    async with running(domain, dev_env, database_url) as ember:
        handles = await ember.run_triggers(records, first)
        outcomes = [await handle.result() for handle in handles]
        attributes = {
            handle.id: (await handle.describe()).search_attributes["EmberTenant"]
            for handle in handles
        }
        summary = await ember.schedule_and_run_triggers(tickets)
    assert [outcome.status for outcome in outcomes] == ["succeeded"] * 3
    assert attributes == {
        **{first.workflow_id("acme", str(i)): ["acme"] for i in acme},
        **{first.workflow_id("globex", str(i)): ["globex"] for i in globex},
    }
    assert summary.succeeded == 6 and summary.total == 6, "both triggers, all three tickets"
    everyone = [("acme", i) for i in acme] + [("globex", i) for i in globex]
    assert sorted(seen) == sorted(
        [(name, tenant, i) for name in ("first", "first", "second") for tenant, i in everyone]
    )


async def test_schema_strategy_reads_and_writes_only_the_tenants_schema(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    await create_tenant_schemas(engine, SCHEMA_ROWS)
    seen: list[tuple[str | None, int, str]] = []
    domain = unique_domain()
    notes = domain.resource(Note, tenant_schema=True, list_tenants=["t1", "t2"])

    @notes.action
    async def finish(note: Note, ctx: ActionContext) -> None:
        seen.append((ctx.tenant, note.id, note.body))
        note.done = True

    trigger = notes.trigger(
        "finish", action=finish, where=Note.done.is_(False), scheduler_cron=None
    )
    outcomes: dict[str, Any] = {}
    async with running(domain, dev_env, database_url) as ember:
        one = await (await ember.run_trigger((Note, 1), trigger, tenant="t1")).result()
        after_one = await done_notes(engine)
        only_in_t2 = await (await ember.run_trigger((Note, 2), trigger, tenant="t1")).result()
        outcomes["t2"] = await ember.schedule_and_run_triggers(trigger, tenant="t2")
        outcomes["all"] = await ember.schedule_and_run_triggers(trigger)
    assert one.status == "succeeded"
    assert after_one == {"t1": [1], "t2": []}, "t1's run wrote t1's row only"
    assert (only_in_t2.status, only_in_t2.reason) == ("cancelled", "trigger_no_longer_applies")
    assert outcomes["t2"].succeeded == 2 and outcomes["t2"].total == 2
    assert outcomes["all"].succeeded == 1 and outcomes["all"].total == 1
    assert seen[0] == ("t1", 1, "t1 one")
    assert sorted(seen[1:3]) == [("t2", 1, "t2 one"), ("t2", 2, "t2 two")]
    assert seen[3:] == [("t1", 3, "t1 three")]
    assert await done_notes(engine) == {"t1": [1, 3], "t2": [1, 2]}
    async with engine.connect() as connection:
        public_notes = await connection.scalar(text("SELECT to_regclass('public.notes')"))
    assert public_notes is None


async def test_with_no_list_tenants_a_scan_covers_the_global_scope_each_run_under_its_rows_tenant(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    acme = await add_tickets(engine, 2, organisation="acme", first_id=1)
    globex = await add_tickets(engine, 1, organisation="globex", first_id=10)
    seen: list[tuple[str | None, str, int]] = []
    domain = unique_domain()
    tickets = domain.resource(Ticket, tenant_column="organisation")  # AshOban's [nil]

    @tickets.action
    async def note(ticket: Ticket, ctx: ActionContext) -> None:
        seen.append((ctx.tenant, ticket.organisation, ticket.id))

    # use_tenant_from_record=True is the default: each run under its record's tenant
    trigger = tickets.trigger("note", action=note, scheduler_cron=None, trigger_once=True)
    async with running(domain, dev_env, database_url) as ember:
        first = await ember.schedule_and_run_triggers(trigger)
        again = await ember.schedule_and_run_triggers(trigger)
        for tenant, ids in (("acme", acme), ("globex", globex)):
            for record in ids:
                status = await workflow_status(
                    dev_env.client, trigger.workflow_id(tenant, str(record))
                )
                assert status == WorkflowExecutionStatus.COMPLETED, (tenant, record)
    assert first.succeeded == 3 and first.total == 3
    assert again.total == 0, "trigger_once completions are matched under each row's tenant"
    assert sorted(seen) == [("acme", "acme", 1), ("acme", "acme", 2), ("globex", "globex", 10)]


async def test_without_use_tenant_from_record_global_scope_runs_have_no_tenant_as_ashobans(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    await add_tickets(engine, 1, organisation="acme", first_id=1)
    await add_tickets(engine, 1, organisation="globex", first_id=2)
    seen: list[tuple[str | None, str, int]] = []
    domain = unique_domain()
    tickets = domain.resource(Ticket, tenant_column="organisation")

    @tickets.action
    async def note(ticket: Ticket, ctx: ActionContext) -> None:
        seen.append((ctx.tenant, ticket.organisation, ticket.id))

    trigger = tickets.trigger(
        "note", action=note, scheduler_cron=None, use_tenant_from_record=False
    )
    async with running(domain, dev_env, database_url) as ember:
        summary = await ember.schedule_and_run_triggers(trigger)
        status = await workflow_status(dev_env.client, trigger.workflow_id(None, "2"))
    assert summary.succeeded == 2 and summary.total == 2
    assert status == WorkflowExecutionStatus.COMPLETED
    assert sorted(seen) == [(None, "acme", 1), (None, "globex", 2)]


async def test_a_tenant_column_scheduled_action_with_no_tenants_runs_once_in_the_global_scope(
    dev_env: WorkflowEnvironment, database_url: str
) -> None:
    seen: list[str | None] = []
    domain = unique_domain()
    tickets = domain.resource(Ticket, tenant_column="organisation")

    @tickets.action
    async def report(ctx: ActionContext) -> None:
        seen.append(ctx.tenant)

    scheduled = tickets.schedule("report", cron="@daily", action=report)
    async with running(domain, dev_env, database_url) as ember:
        result = await (await ember.start_scan(scheduled)).result()
    assert list(result.outcomes) == ["-"] and result.outcomes["-"].status == "succeeded"
    assert seen == [None]
