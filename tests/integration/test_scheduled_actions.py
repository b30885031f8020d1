"""Scheduled actions: on demand and from their schedule, per tenant, retries, sync states."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from ember.activities.types import Outcome, ScheduledOutcome
from ember.registry import ActionContext, Domain
from ember.workflows.schedule_sync import sync_schedules
from examples.helpdesk.app import build_helpdesk
from examples.helpdesk.models import Digest, Ticket
from tests.integration.support import add_tickets, running, unique_domain
from tests.integration.waiting import eventually


async def test_the_helpdesk_digest_runs_on_demand_once_per_tenant(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    await add_tickets(engine, 3, organisation="acme", first_id=1)
    await add_tickets(engine, 2, organisation="acme", first_id=10, status="closed")
    await add_tickets(engine, 1, organisation="globex", first_id=20)
    helpdesk = build_helpdesk(unique_domain("helpdesk").name)
    digest = helpdesk.get_schedule("tickets", "daily_digest")
    async with running(helpdesk, dev_env, database_url) as ember:
        handle = await ember.start_scan(digest)
        result = await handle.result()
    assert handle.id.startswith(digest.schedule_id + "/")
    assert isinstance(result, ScheduledOutcome)
    assert result.outcomes == {
        "acme": Outcome("succeeded", 1),
        "globex": Outcome("succeeded", 1),
    }
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                select(Digest.organisation, Digest.open_tickets).order_by(Digest.organisation)
            )
        ).all()
    assert [tuple(row) for row in rows] == [("acme", 3), ("globex", 1)]


async def test_attempts_run_to_max_attempts_per_tenant_with_last_attempt_on_the_last(
    test_env: WorkflowEnvironment, database_url: str
) -> None:
    attempts: dict[str | None, list[tuple[int, bool, str]]] = {}
    domain = unique_domain()
    tickets = domain.resource(
        Ticket, tenant_column="organisation", list_tenants=["acme", "globex", "initech"]
    )

    @tickets.action
    async def report(ctx: ActionContext) -> None:
        attempts.setdefault(ctx.tenant, []).append((ctx.attempt, ctx.last_attempt, ctx.source))
        if ctx.tenant == "acme" or (ctx.tenant == "globex" and ctx.attempt < 3):
            raise RuntimeError(f"{ctx.tenant} down on attempt {ctx.attempt}")

    scheduled = tickets.schedule(
        "report",
        cron="@hourly",
        action=report,
        max_attempts=3,
        backoff=timedelta(minutes=10),
        tenants=["acme", "globex"],
    )
    async with running(domain, test_env, database_url, search_attributes=False) as ember:
        result: ScheduledOutcome = await (await ember.start_scan(scheduled)).result()
    acme, globex = result.outcomes["acme"], result.outcomes["globex"]
    assert set(result.outcomes) == {"acme", "globex"}, "the schedule's tenants win"
    assert (acme.status, acme.attempts) == ("failed", 3)
    assert acme.error is not None and acme.error.message == "acme down on attempt 3"
    assert (globex.status, globex.attempts) == ("succeeded", 3)
    expected = [(1, False, "schedule"), (2, False, "schedule"), (3, True, "schedule")]
    assert attempts == {"acme": expected, "globex": expected}


calls: list[tuple[str, str | None, str | None]] = []


async def digest_a(ctx: ActionContext) -> None:
    """Scheduled action a."""
    calls.append(("a", ctx.trigger, ctx.source))


async def digest_b(ctx: ActionContext) -> None:
    """Scheduled action b."""
    calls.append(("b", ctx.trigger, ctx.source))


def declare(name: str, **states: str) -> Domain:
    """Domain ``name`` with scheduled actions a and b in the given states (default active)."""
    domain = Domain(name)
    tickets = domain.resource(Ticket)
    for label, action in (("a", digest_a), ("b", digest_b)):
        tickets.action(action)
        if states.get(label) == "removed":
            continue
        tickets.schedule(
            f"digest_{label}", cron="@daily", action=action, state=states.get(label, "active")
        )
    return domain


async def paused(env: WorkflowEnvironment, schedule_id: str) -> bool | None:
    """Whether the schedule is paused; None when it does not exist."""
    try:
        description = await env.client.get_schedule_handle(schedule_id).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return description.schedule.state.paused


async def test_sync_gives_scheduled_actions_their_declared_state_and_schedules_run_them(
    dev_env: WorkflowEnvironment, database_url: str
) -> None:
    calls.clear()
    name = unique_domain().name
    domain = declare(name, b="paused")
    a, b = (domain.get_schedule("tickets", f"digest_{label}") for label in "ab")
    async with running(domain, dev_env, database_url, sync=True):
        assert (await paused(dev_env, a.schedule_id), await paused(dev_env, b.schedule_id)) == (
            False,
            True,
        )
        await dev_env.client.get_schedule_handle(a.schedule_id).trigger()

        async def ran() -> bool:
            return bool(calls)

        await eventually(ran, what="the schedule's run of digest_a")
    assert calls == [("a", "digest_a", "schedule")]

    report: Any = await sync_schedules(dev_env.client, declare(name, a="deleted"))
    assert report.deleted == [a.schedule_id]
    assert await paused(dev_env, a.schedule_id) is None
    assert report.updated == [b.schedule_id], "b's declaration changed: paused -> active"
    assert await paused(dev_env, b.schedule_id) is False
    await sync_schedules(dev_env.client, declare(name, a="deleted", b="paused"))
    assert await paused(dev_env, b.schedule_id) is True
    await sync_schedules(dev_env.client, declare(name, a="removed", b="deleted"))
    assert await paused(dev_env, b.schedule_id) is None


async def test_scheduled_actions_run_def_functions_off_the_loop_and_may_not_commit(
    test_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    await add_tickets(engine, 2)
    threads: list[str] = []
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action
    def count_open(ctx: ActionContext) -> None:
        threads.append(threading.current_thread().name)
        total = ctx.session.sync_session.scalar(select(func.count()).select_from(Ticket))
        ctx.session.sync_session.add(Digest(organisation="acme", open_tickets=total))

    @tickets.action
    async def careless(ctx: ActionContext) -> None:
        ctx.session.add(Digest(organisation="acme", open_tickets=-1))
        await ctx.session.commit()

    counting = tickets.schedule("count", cron="@daily", action=count_open)
    committing = tickets.schedule("careless", cron="@daily", action=careless)
    async with running(domain, test_env, database_url, search_attributes=False) as ember:
        counted: ScheduledOutcome = await (await ember.start_scan(counting)).result()
        refused: ScheduledOutcome = await (await ember.start_scan(committing)).result()
    assert counted.outcomes["-"].status == "succeeded"
    assert threads != [threading.current_thread().name], "it ran off the worker's thread"
    outcome = refused.outcomes["-"]
    assert outcome.status == "failed"
    assert outcome.error is not None and outcome.error.type == "TransactionOwned"
    async with engine.connect() as connection:
        rows = (await connection.execute(select(Digest.organisation, Digest.open_tickets))).all()
    assert [tuple(row) for row in rows] == [("acme", 2)], "nothing of the refused run committed"
