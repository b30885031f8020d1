"""Schema tenancy never falls back: a missing tenant ends ``tenant_not_found``, touching nothing.

Each test keeps decoys a fallback would reach: a ``public.notes`` table (the old
``search_path TO <tenant>, public``) and the schema a 64-byte name truncates to.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import insert, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from temporalio.testing import WorkflowEnvironment

from ember.activities.dispatch import start_record_run
from ember.activities.scan_types import ScanSummary
from ember.activities.types import Outcome, ScheduledOutcome
from ember.registry import ActionContext, Domain, Trigger, enqueue_trigger
from ember.registry.tables import outbox
from tests.integration.support import running, unique_domain
from tests.integration.tenant_schemas import (
    DECOY_ROWS,
    LONG_TENANT,
    SCHEMA_ROWS,
    Note,
    all_notes,
    create_tenant_schemas,
)
from tests.integration.test_outbox import run_started

MISSING: list[str | None] = ["ghost", LONG_TENANT, None]
NOT_FOUND = ("cancelled", "tenant_not_found")
Calls = list[tuple[str, str | None]]


async def tenants_and_decoys(engine: AsyncEngine) -> dict[str, list[tuple[int, str, bool]]]:
    """Create t1, t2 and the decoys; return every note as it is before any run."""
    await create_tenant_schemas(engine, SCHEMA_ROWS | DECOY_ROWS)
    return await all_notes(engine)


def finishing(calls: Calls, **options: Any) -> tuple[Domain, Trigger]:
    """A ``finish`` trigger on the schema-tenanted notes, with an on_error that writes too.

    The action writes through its own ORM and raw SQL statements, not only the locked row.
    """
    domain = unique_domain()
    notes = domain.resource(Note, tenant_schema=True, list_tenants=["t1"])

    @notes.action
    async def finish(note: Note, ctx: ActionContext) -> None:
        calls.append(("finish", ctx.tenant))
        await ctx.session.execute(update(Note).where(Note.id == note.id).values(body="finished"))
        await ctx.session.execute(text("UPDATE notes SET done = true WHERE id = :id"), {"id": 1})

    @notes.action
    async def mark_failed(note: Note, ctx: ActionContext) -> None:
        calls.append(("on_error", ctx.tenant))
        note.body = "on_error"

    trigger = notes.trigger(
        "finish", action=finish, on_error=mark_failed, scheduler_cron=None, **options
    )
    return domain, trigger


def only_t1_changed(
    before: dict[str, list[tuple[int, str, bool]]], t1: list[tuple[int, str, bool]]
) -> dict[str, list[tuple[int, str, bool]]]:
    """Every schema's notes as before, but t1's."""
    return before | {"t1": t1}


async def test_a_run_for_a_missing_tenant_ends_tenant_not_found_and_touches_nothing(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    before = await tenants_and_decoys(engine)
    calls: Calls = []
    domain, trigger = finishing(calls)
    async with running(domain, dev_env, database_url) as ember:
        ghost = await (await ember.run_trigger((Note, 1), trigger, tenant="ghost")).result()
        refused = []
        for bad in (LONG_TENANT, None):
            with pytest.raises(ValueError, match="tenant") as error:
                await ember.run_trigger((Note, 1), trigger, tenant=bad)
            refused.append(str(error.value))
        # What anyone with namespace access could start, past the client's checks:
        direct = [
            await (await start_record_run(ember.client, trigger, bad, "1")).result()
            for bad in MISSING
        ]
        after_missing = await all_notes(engine)
        own = await (await ember.run_trigger((Note, 1), trigger, tenant="t1")).result()
    assert (ghost.status, ghost.reason) == NOT_FOUND
    assert [(outcome.status, outcome.reason) for outcome in direct] == [NOT_FOUND] * 3
    assert "64 bytes" in refused[0] and "at most 63" in refused[0], refused[0]
    assert "found none" in refused[1], refused[1]
    assert after_missing == before, "no schema was touched, public and the truncated one included"
    assert own.status == "succeeded"
    assert calls == [("finish", "t1")], "neither the action nor on_error ran for a missing tenant"
    assert await all_notes(engine) == only_t1_changed(
        before, [(1, "finished", True), (3, "t1 three", False)]
    ), "the action's own ORM and raw SQL statements resolved in t1"


async def test_a_scan_reports_missing_tenants_and_scans_only_the_ones_that_exist(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    before = await tenants_and_decoys(engine)
    calls: Calls = []
    domain, trigger = finishing(
        calls, list_tenants=lambda: ["ghost", "t1", LONG_TENANT, None], trigger_once=True
    )
    async with running(domain, dev_env, database_url) as ember:
        first: ScanSummary = await (await ember.start_scan(trigger)).result()
        outcomes = [
            await ember.client.get_workflow_handle(
                trigger.workflow_id("t1", key), result_type=Outcome
            ).result()
            for key in ("1", "3")
        ]
        # trigger_once: the completions Ember wrote in t1's transactions keep t1's rows out.
        again: ScanSummary = await (await ember.start_scan(trigger)).result()
        drained = await ember.schedule_and_run_triggers(trigger, tenant="ghost")
        with pytest.raises(ValueError, match="64 bytes"):
            await ember.start_scan(trigger, tenant=LONG_TENANT)
    assert (first.dispatched, first.tenants) == (2, 4)
    assert first.tenants_not_found == ["-", "ghost", LONG_TENANT]  # None first, then in name order
    assert [outcome.status for outcome in outcomes] == ["succeeded", "succeeded"]
    assert (again.dispatched, again.tenants_not_found) == (0, ["-", "ghost", LONG_TENANT])
    assert drained.total == 0
    assert sorted(calls) == [("finish", "t1"), ("finish", "t1")]
    assert await all_notes(engine) == only_t1_changed(
        before, [(1, "finished", True), (3, "finished", False)]
    )


async def test_a_scheduled_action_for_a_missing_tenant_ends_tenant_not_found(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    before = await tenants_and_decoys(engine)
    ran_for: list[str | None] = []
    domain = unique_domain()
    notes = domain.resource(Note, tenant_schema=True)

    @notes.action
    async def close_all(ctx: ActionContext) -> None:
        ran_for.append(ctx.tenant)
        await ctx.session.execute(update(Note).values(done=True))
        await ctx.session.execute(text("UPDATE notes SET body = body || ' (closed)'"))

    scheduled = notes.schedule(
        "close_all",
        cron="@hourly",
        action=close_all,
        tenants=lambda: ["ghost", "t1", LONG_TENANT, None],
    )
    async with running(domain, dev_env, database_url) as ember:
        result: ScheduledOutcome = await (await ember.start_scan(scheduled)).result()
    missing = Outcome("cancelled", 1, reason="tenant_not_found")
    assert result.outcomes == {
        "ghost": missing,
        "t1": Outcome("succeeded", 1),
        LONG_TENANT: missing,
        "-": missing,
    }
    assert ran_for == ["t1"]
    assert await all_notes(engine) == only_t1_changed(
        before, [(1, "t1 one (closed)", True), (3, "t1 three (closed)", True)]
    )


async def test_enqueue_refuses_a_missing_tenant_and_the_relay_never_runs_one(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    before = await tenants_and_decoys(engine)
    calls: Calls = []
    domain, trigger = finishing(calls)

    @trigger.resource.action
    async def follow(note: Note, ctx: ActionContext) -> None:
        await enqueue_trigger(ctx.session, note, trigger, tenant=ctx.tenant)

    follow_up = trigger.resource.trigger("follow", action=follow, scheduler_cron=None)
    refused = []
    async with AsyncSession(engine) as session, session.begin():
        for bad in MISSING:
            with pytest.raises(ValueError, match="tenant") as error:
                await enqueue_trigger(session, (Note, 1), trigger, tenant=bad)
            refused.append(str(error.value))
        await enqueue_trigger(session, (Note, 1), trigger, tenant="t1")
    # Rows written past enqueue_trigger's checks (by hand, or before the schema was dropped):
    async with engine.begin() as connection:
        for bad in MISSING:
            request = {"domain": domain.name, "resource": "notes", "trigger": "finish"}
            await connection.execute(
                insert(outbox).values(
                    workflow_id=trigger.workflow_id(bad, "1"),
                    request=request | {"tenant": bad, "record": "1"},
                )
            )
    async with running(domain, dev_env, database_url) as ember:
        relayed = [
            await run_started(ember.client, trigger.workflow_id(tenant, "1"))
            for tenant in ["t1", *MISSING]
        ]
        # An action of a tenant's run enqueues into Ember's outbox, not into the tenant's schema.
        enqueuer = await (await ember.run_trigger((Note, 3), follow_up, tenant="t1")).result()
        followed = await run_started(ember.client, trigger.workflow_id("t1", "3"))
    assert "expected a schema 'ghost' holding table notes" in refused[0], refused[0]
    assert "64 bytes" in refused[1] and "found none" in refused[2], refused
    assert relayed[0].status == "succeeded"
    assert [(outcome.status, outcome.reason) for outcome in relayed[1:]] == [NOT_FOUND] * 3
    assert (enqueuer.status, followed.status) == ("succeeded", "succeeded")
    assert calls == [("finish", "t1"), ("finish", "t1")]
    assert await all_notes(engine) == only_t1_changed(
        before, [(1, "finished", True), (3, "finished", False)]
    )
