"""``state`` holds everywhere: paused runs end ``cancelled``, deleted ones are refused.

As AshOban's workers cancel the jobs of a trigger that is not active, a paused
(or deleted) trigger's runs end ``cancelled`` (``trigger_paused`` /
``trigger_deleted``) when the worker picks them up, whoever started them and
whenever; starting a run of a deleted trigger is refused at the call.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from temporalio.testing import WorkflowEnvironment

from ember.activities.types import Outcome, ScheduledOutcome
from ember.registry import ActionContext, Domain, enqueue_trigger
from ember.registry.errors import DeclarationDeleted, EmberError
from ember.workflows.client import TriggerClient
from ember.workflows.drain import TriggerRunSummary
from examples.helpdesk.models import Ticket
from tests.integration.support import add_tickets, running, ticket_values, unique_domain
from tests.integration.test_outbox import run_started


def declared(name: str, state: str, acted: list[str]) -> Domain:
    """Domain ``name``: trigger ``tickets.escalate`` and scheduled action ``tickets.report``,
    both in ``state`` (the same declarations, as one deploy and the next would have them)."""
    domain = Domain(name)
    tickets = domain.resource(Ticket)

    @tickets.action
    async def escalate(ticket: Ticket, ctx: ActionContext) -> None:
        acted.append(f"escalate {ticket.id}")
        ticket.escalated = True

    @tickets.action
    async def report(ctx: ActionContext) -> None:
        acted.append("report")

    tickets.trigger("escalate", action=escalate, scheduler_cron="@daily", state=state)
    tickets.schedule("report", cron="@daily", action=report, state=state)
    return domain


def ended(outcome: Outcome) -> tuple[str, str | None]:
    return outcome.status, outcome.reason


async def test_ash_oban_paused_trigger_runs_end_cancelled_however_they_are_started(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    one, two, three, enqueued = await add_tickets(engine, 4)
    acted: list[str] = []
    domain = declared(unique_domain().name, "paused", acted)
    trigger = domain.get_trigger("tickets", "escalate")
    async with running(domain, dev_env, database_url) as ember:
        direct = await (await ember.run_trigger((Ticket, one), trigger)).result()
        many = [
            await handle.result()
            for handle in await ember.run_triggers([(Ticket, two), (Ticket, three)], trigger)
        ]
        async with AsyncSession(engine) as session, session.begin():
            await enqueue_trigger(session, (Ticket, enqueued), trigger)
        relayed = await run_started(ember.client, trigger.workflow_id(None, str(enqueued)))
        drained = await ember.schedule_and_run_triggers(trigger)
        report: ScheduledOutcome = await (
            await ember.start_scan(domain.get_schedule("tickets", "report"))
        ).result()
    for outcome in [direct, *many, relayed, report.outcomes["-"]]:
        assert ended(outcome) == ("cancelled", "trigger_paused")
    assert drained == TriggerRunSummary(), "a paused trigger's scan starts no runs"
    assert acted == []
    assert await ticket_values(engine, "escalated", [one, two, three, enqueued]) == [False] * 4


async def test_ash_oban_pausing_a_trigger_stops_runs_already_queued(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    acted: list[str] = []
    name = unique_domain().name
    before, after = declared(name, "active", acted), declared(name, "paused", acted)
    queued = await TriggerClient(dev_env.client, before).run_trigger(
        (Ticket, ticket_id), "escalate"
    )
    scheduled = await TriggerClient(dev_env.client, before).start_scan(
        before.get_schedule("tickets", "report")
    )
    async with running(after, dev_env, database_url):  # the next deploy: paused
        outcome = await queued.result()
        report: ScheduledOutcome = await scheduled.result()
    assert ended(outcome) == ("cancelled", "trigger_paused")
    assert ended(report.outcomes["-"]) == ("cancelled", "trigger_paused")
    assert acted == []


async def test_ash_oban_deleted_trigger_is_refused_at_every_call(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    acted: list[str] = []
    domain = declared(unique_domain().name, "deleted", acted)
    trigger = domain.get_trigger("tickets", "escalate")
    report = domain.get_schedule("tickets", "report")
    record = (Ticket, ticket_id)
    ember = TriggerClient(dev_env.client, domain)
    calls: list[Any] = [
        lambda: ember.run_trigger(record, trigger),
        lambda: ember.run_trigger(record, "tickets.escalate"),
        lambda: ember.run_triggers([record], trigger),
        lambda: ember.start_scan(trigger),
        lambda: ember.start_scan(report),
        lambda: ember.schedule_and_run_triggers(trigger),
        lambda: ember.schedule_and_run_triggers([report]),
    ]
    for call in calls:
        with pytest.raises(DeclarationDeleted) as refused:
            await call()
        assert isinstance(refused.value, EmberError | ValueError)
        assert "state='deleted'" in str(refused.value) and "fix:" in str(refused.value)
    with pytest.raises(DeclarationDeleted, match=r"trigger: expected one that is not deleted"):
        ember.build_run(record, trigger)
    async with AsyncSession(engine) as session, session.begin():
        with pytest.raises(DeclarationDeleted, match=f"found {trigger.path} with"):
            await enqueue_trigger(session, record, trigger)
    async with running(domain, dev_env, database_url) as ember:
        everything = await ember.schedule_and_run_triggers(domain, scheduled_actions=True)
    assert everything == TriggerRunSummary(), "a domain drain leaves deleted declarations out"
    assert acted == []


async def test_ash_oban_runs_queued_before_a_trigger_was_deleted_end_cancelled(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    acted: list[str] = []
    name = unique_domain().name
    before, after = declared(name, "active", acted), declared(name, "deleted", acted)
    queued = await TriggerClient(dev_env.client, before).run_trigger(
        (Ticket, ticket_id), "escalate"
    )
    async with running(after, dev_env, database_url):
        outcome = await queued.result()
    assert ended(outcome) == ("cancelled", "trigger_deleted")
    assert acted == []
