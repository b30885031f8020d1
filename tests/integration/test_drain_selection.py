"""What a drain runs: AshOban's selection of triggers, lists, scheduled actions."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from ember.registry import ActionContext, Domain, Resource
from ember.workflows.drain import TriggerRunSummary
from examples.helpdesk.models import Ticket
from tests.integration.support import add_tickets, running, unique_domain


def noting(ran: Counter[str]) -> Domain:
    """Four triggers acting on every ticket (no ``where``), and two scheduled actions.

    ``cron`` scans on a schedule; ``on_demand`` has no ``scheduler_cron`` (only
    run_trigger); ``paused`` is paused; ``also`` lives on a second resource.
    """
    domain = unique_domain()
    tickets = domain.resource(Ticket)
    others = domain.resource(Ticket, name="other_tickets")

    def note(name: str) -> Any:
        async def action(ticket: Ticket, ctx: ActionContext) -> None:
            ran[name] += 1

        action.__name__ = f"note_{name}"
        return action

    declared: list[tuple[Resource, str, dict[str, Any]]] = [
        (tickets, "cron", {"scheduler_cron": "@daily"}),
        (tickets, "on_demand", {"scheduler_cron": None}),
        (tickets, "paused", {"scheduler_cron": "@daily", "state": "paused"}),
        (others, "also", {"scheduler_cron": "*/5 * * * *"}),
    ]
    for resource, name, options in declared:
        resource.trigger(name, action=resource.action(note(name)), **options)

    @tickets.action
    async def digest(ctx: ActionContext) -> None:
        ran[f"digest_{ctx.tenant}"] += 1

    @tickets.action
    async def archive(ctx: ActionContext) -> None:
        ran["archive"] += 1

    tickets.schedule("digest", cron="@daily", action=digest)
    tickets.schedule("archive", cron="@daily", action=archive, state="paused")
    return domain


async def test_ash_oban_drain_of_a_resource_runs_only_its_active_scheduled_triggers(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    await add_tickets(engine, 2)
    ran: Counter[str] = Counter()
    domain = noting(ran)
    async with running(domain, dev_env, database_url) as ember:
        resource = await ember.schedule_and_run_triggers(domain.get_resource("tickets"))
        assert ran == {"cron": 2}, (
            "no on_demand (no scheduler_cron), no paused, no scheduled action"
        )
        whole = await ember.schedule_and_run_triggers(domain)
    assert resource == TriggerRunSummary(succeeded=2)
    assert whole == TriggerRunSummary(succeeded=4)
    assert ran == {"cron": 4, "also": 2}


async def test_ash_oban_drain_runs_a_trigger_named_explicitly_even_without_a_scheduler(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    await add_tickets(engine, 3)
    ran: Counter[str] = Counter()
    domain = noting(ran)
    async with running(domain, dev_env, database_url) as ember:
        by_object = await ember.schedule_and_run_triggers(
            domain.get_trigger("tickets", "on_demand")
        )
        by_name = await ember.schedule_and_run_triggers("tickets.on_demand")
    assert by_object == by_name == TriggerRunSummary(succeeded=3)
    assert ran == {"on_demand": 6}


async def test_ash_oban_drain_takes_lists_and_counts_scheduled_action_outcomes(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    await add_tickets(engine, 2)
    ran: Counter[str] = Counter()
    domain = noting(ran)
    tickets = domain.get_resource("tickets")
    digest = domain.get_schedule("tickets", "digest")
    async with running(domain, dev_env, database_url) as ember:
        listed = await ember.schedule_and_run_triggers(
            [tickets, digest, "tickets.on_demand", tickets]  # each runs once
        )
        assert ran == {"cron": 2, "digest_None": 1, "on_demand": 2}
        ran.clear()
        with_scheduled = await ember.schedule_and_run_triggers(tickets, scheduled_actions=True)
        assert ran == {"cron": 2, "digest_None": 1}, "the paused scheduled action is left out"
        ran.clear()
        only_scheduled = await ember.schedule_and_run_triggers(
            domain, triggers=False, scheduled_actions=True
        )
    assert listed == TriggerRunSummary(succeeded=5)
    assert with_scheduled == TriggerRunSummary(succeeded=3)
    assert only_scheduled == TriggerRunSummary(succeeded=1)
    assert ran == {"digest_None": 1}


async def test_ash_oban_drain_of_a_scheduled_action_counts_one_outcome_per_tenant(
    dev_env: WorkflowEnvironment, database_url: str
) -> None:
    ran: Counter[str] = Counter()
    domain = unique_domain()
    tickets = domain.resource(Ticket, tenant_column="organisation", list_tenants=["acme", "globex"])

    @tickets.action
    async def digest(ctx: ActionContext) -> None:
        ran[str(ctx.tenant)] += 1
        if ctx.tenant == "globex":
            raise RuntimeError("no digest for globex")

    scheduled = tickets.schedule("digest", cron="@daily", action=digest)
    async with running(domain, dev_env, database_url) as ember:
        summary = await ember.schedule_and_run_triggers(scheduled)
    assert summary == TriggerRunSummary(succeeded=1, failed=1)
    assert ran == {"acme": 1, "globex": 1}
