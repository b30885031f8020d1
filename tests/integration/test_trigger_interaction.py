"""AshOban's ``AshObanInteraction``: ``trigger_interaction`` passes for every run Ember starts.

Each action here is guarded by a policy that lets through ``trigger_interaction``
and nothing else, and is started as the agent, who may not act on their own.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from temporalio.testing import WorkflowEnvironment

from ember.activities.types import ScheduledOutcome
from ember.registry import ActionContext, Domain, RowActorPersister, enqueue_trigger
from ember.registry.checks import trigger_interaction
from examples.helpdesk.models import Ticket, User
from tests.integration.support import add_tickets, add_user, running, ticket_values, unique_domain
from tests.integration.test_outbox import run_started


class Seen(list[tuple[str, int | None, int | None]]):
    """(source, actor id, record id) of each policy decision."""


def ember_only(seen: Seen, **trigger_options: Any) -> Domain:
    """``tickets.escalate`` and the scheduled action ``tickets.report``, both Ember-only."""
    domain = unique_domain()
    tickets = domain.resource(Ticket, actor_persister=RowActorPersister(User))

    def policy(actor: Any, record: Ticket | None, ctx: ActionContext) -> bool:
        seen.append((ctx.source, getattr(actor, "id", None), getattr(record, "id", None)))
        return trigger_interaction(ctx)

    @tickets.action(policy=policy)
    async def escalate(ticket: Ticket, ctx: ActionContext) -> None:
        ticket.escalated = True

    @tickets.action(policy=policy)
    async def report(ctx: ActionContext) -> None:
        pass

    options: dict[str, Any] = {"scheduler_cron": "@daily", **trigger_options}
    tickets.trigger("escalate", action=escalate, where=Ticket.escalated.is_(False), **options)
    tickets.schedule("report", cron="@daily", action=report)
    return domain


async def test_ash_oban_interaction_passes_for_run_trigger_runs(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    who, seen = await add_user(engine, 2, "Agent"), Seen()
    domain = ember_only(seen)
    async with running(domain, dev_env, database_url) as ember:
        handle = await ember.run_trigger((Ticket, ticket_id), "escalate", actor=who)
        outcome = await handle.result()
    assert outcome.status == "succeeded"
    assert seen == [("direct", 2, ticket_id)]
    assert await ticket_values(engine, "escalated", [ticket_id]) == [True]


async def test_ash_oban_interaction_passes_for_run_triggers_runs(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    ids = await add_tickets(engine, 3)
    who, seen = await add_user(engine, 2, "Agent"), Seen()
    domain = ember_only(seen)
    async with running(domain, dev_env, database_url) as ember:
        handles = await ember.run_triggers([(Ticket, i) for i in ids], "escalate", actor=who)
        outcomes = [await handle.result() for handle in handles]
    assert [outcome.status for outcome in outcomes] == ["succeeded"] * 3
    assert sorted(seen) == [("direct", 2, i) for i in ids]


async def test_ash_oban_interaction_passes_for_enqueued_runs_the_outbox_relay_starts(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    who, seen = await add_user(engine, 2, "Agent"), Seen()
    domain = ember_only(seen)
    trigger = domain.get_trigger("tickets", "escalate")
    async with running(domain, dev_env, database_url) as ember:
        async with AsyncSession(engine) as session, session.begin():
            await enqueue_trigger(session, (Ticket, ticket_id), trigger, actor=who)
        outcome = await run_started(ember.client, trigger.workflow_id(None, str(ticket_id)))
    assert outcome.status == "succeeded"
    assert seen == [("direct", 2, ticket_id)]


async def test_ash_oban_interaction_passes_for_drained_scan_runs_and_chunks(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    ids = await add_tickets(engine, 4)
    who = await add_user(engine, 2, "Agent")
    seen, chunked_seen = Seen(), Seen()
    domain = ember_only(seen)
    chunked = ember_only(chunked_seen, chunk_size=2)
    async with running(domain, dev_env, database_url) as ember:
        summary = await ember.schedule_and_run_triggers(domain, actor=who)
    assert (summary.succeeded, summary.total) == (4, 4)
    assert sorted(seen) == [("trigger", 2, i) for i in ids]
    async with engine.begin() as connection:
        await connection.execute(update(Ticket).values(escalated=False))
    async with running(chunked, dev_env, database_url) as ember:
        summary = await ember.schedule_and_run_triggers(chunked, actor=who)
    assert (summary.succeeded, summary.total) == (4, 4)
    assert sorted(chunked_seen) == [("trigger", 2, i) for i in ids]


async def test_ash_oban_interaction_passes_for_scheduled_action_runs(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    who, seen = await add_user(engine, 2, "Agent"), Seen()
    domain = ember_only(seen)
    report = domain.get_schedule("tickets", "report")
    async with running(domain, dev_env, database_url) as ember:
        done: ScheduledOutcome = await (await ember.start_scan(report, actor=who)).result()
        drained = await ember.schedule_and_run_triggers(report)
    assert done.outcomes["-"].status == "succeeded"
    assert (drained.succeeded, drained.total) == (1, 1)
    assert seen == [("schedule", 2, None), ("schedule", None, None)]
