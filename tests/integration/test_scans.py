"""Scans: keyset pages, sort, record_limit, tenants and rows changing under the scan."""

from __future__ import annotations

from datetime import timedelta

import psycopg
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from ember.registry import ActionContext, Domain, Trigger
from examples.helpdesk.models import Ticket
from tests.integration.support import LONG_AGO, add_tickets, running, unique_domain


def recording_domain(seen: list[int], **options: object) -> tuple[Domain, Trigger]:
    """A trigger over open tickets whose action records the ticket ids it ran for."""
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action
    async def note(ticket: Ticket, ctx: ActionContext) -> None:
        seen.append(ticket.id)

    trigger = tickets.trigger(
        "note", action=note, where=Ticket.status == "open", scheduler_cron=None, **options
    )
    return domain, trigger


async def test_pagination_visits_every_matching_row_once(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    ids = await add_tickets(engine, 23)
    await add_tickets(engine, 4, first_id=500, status="closed")
    seen: list[int] = []
    domain, trigger = recording_domain(seen, stream_batch_size=5)
    async with running(domain, dev_env, database_url) as ember:
        scan = await ember.start_scan(trigger)
        summary = await scan.result()
        drained = await ember.schedule_and_run_triggers(trigger)
    assert summary.dispatched == 23
    assert drained.total == 23
    assert sorted(set(seen)) == ids


async def test_record_limit_and_sort_choose_which_rows_a_scan_takes(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    ids = await add_tickets(engine, 10)
    seen: list[int] = []
    domain, trigger = recording_domain(seen, record_limit=4, sort=["-id"], stream_batch_size=3)
    async with running(domain, dev_env, database_url) as ember:
        summary = await ember.schedule_and_run_triggers(trigger)
    assert summary.succeeded == 4
    assert sorted(seen) == sorted(ids)[-4:]


async def test_rows_inserted_during_a_scan_after_the_cursor_are_picked_up(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    ids = await add_tickets(engine, 6, first_id=10)
    seen: list[int] = []
    pages = 0

    def read_inserting_on_the_second_page() -> Select[tuple[Ticket]]:
        """The scan's read query; between pages one and two, new rows are committed."""
        nonlocal pages
        pages += 1
        if pages == 2:
            with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as conn:
                conn.execute(
                    "INSERT INTO tickets (id, organisation, subject, updated_at) VALUES "
                    "(1, 'acme', 'behind the cursor', now()), (1000, 'acme', 'ahead', now())"
                )
        return select(Ticket)

    domain, trigger = recording_domain(
        seen, stream_batch_size=2, read_action=read_inserting_on_the_second_page
    )
    async with running(domain, dev_env, database_url) as ember:
        summary = await ember.schedule_and_run_triggers(trigger)
    assert pages >= 2
    assert sorted(seen) == [*ids, 1000], "keyset paging picks up rows ahead of the cursor only"
    assert summary.succeeded == 7


async def test_tenants_are_scanned_one_by_one_with_their_own_ids(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    acme = await add_tickets(engine, 3, organisation="acme")
    globex = await add_tickets(engine, 2, organisation="globex", first_id=50)
    seen: list[tuple[str | None, int]] = []
    domain = unique_domain()
    tickets = domain.resource(Ticket, tenant_column="organisation", list_tenants=["acme", "globex"])

    @tickets.action
    async def note(ticket: Ticket, ctx: ActionContext) -> None:
        assert ticket.organisation == ctx.tenant
        seen.append((ctx.tenant, ticket.id))

    trigger = tickets.trigger("note", action=note, scheduler_cron=None)
    async with running(domain, dev_env, database_url) as ember:
        everyone = await ember.schedule_and_run_triggers(trigger)
        only_globex = await ember.schedule_and_run_triggers(trigger, tenant="globex")
    assert everyone.succeeded == 5 and only_globex.succeeded == 2
    assert sorted(seen[:5]) == sorted([("acme", i) for i in acme] + [("globex", i) for i in globex])
    assert sorted(seen[5:]) == [("globex", i) for i in globex]
    assert trigger.workflow_id("acme", str(acme[0])).endswith(f"/note/acme/{acme[0]}")


async def test_a_nullable_sort_column_reaches_every_row_ascending_and_descending(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    closed = await add_tickets(engine, 4, first_id=1, closed_at=LONG_AGO)
    later = await add_tickets(engine, 2, first_id=20, closed_at=LONG_AGO + timedelta(days=1))
    never = await add_tickets(engine, 4, first_id=40)  # closed_at NULL
    await add_tickets(engine, 3, first_id=90, status="closed")
    everything = sorted(closed + later + never)
    for sort in (["closed_at"], ["-closed_at"], ["-closed_at", "-id"], ["closed_at", "-id"]):
        seen: list[int] = []
        domain, trigger = recording_domain(seen, sort=sort, stream_batch_size=3)
        async with running(domain, dev_env, database_url) as ember:
            summary = await ember.schedule_and_run_triggers(trigger)
        assert sorted(seen) == everything, f"sort={sort}: every matching row once"
        assert summary.succeeded == len(everything), f"sort={sort}"
