"""on_error as AshOban's error handler: a snooze is honoured, a row gone ends ``cancelled``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from ember.registry import ActionContext, Domain, Snooze, Trigger
from ember.workflows.compensation import ON_ERROR_SNOOZES
from ember.workflows.drain import TriggerRunSummary
from examples.helpdesk.models import Ticket
from tests.integration.support import add_tickets, running, ticket_values, unique_domain


def failing(on_error: Any, **options: Any) -> tuple[Domain, Trigger]:
    """``escalate`` on open tickets, failing every attempt, with ``on_error``."""
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action
    async def escalate(ticket: Ticket, ctx: ActionContext) -> None:
        raise RuntimeError("escalation service down")

    tickets.action(on_error)
    trigger = tickets.trigger(
        "escalate",
        action=escalate,
        where=Ticket.status == "open",
        scheduler_cron=None,
        on_error=on_error,
        **options,
    )
    return domain, trigger


async def test_ash_oban_on_error_snooze_runs_on_error_again_after_the_snooze(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    calls: list[str] = []

    async def mark_failed(ticket: Ticket, ctx: ActionContext) -> Snooze | None:
        calls.append("mark_failed")
        if len(calls) == 1:
            return Snooze(0.2)
        if len(calls) == 2:
            raise Snooze(0.2)
        assert ctx.error is not None
        ticket.last_error = ctx.error.message
        return None

    domain, trigger = failing(mark_failed)
    async with running(domain, dev_env, database_url) as ember:
        outcome = await (await ember.run_trigger((Ticket, ticket_id), trigger)).result()
    assert (outcome.status, outcome.attempts) == ("errored_handled", 1)
    assert calls == ["mark_failed"] * 3, "returned and raised snoozes both run on_error again"
    assert await ticket_values(engine, "last_error", [ticket_id]) == ["escalation service down"]


async def test_ash_oban_on_error_snoozes_are_bounded_then_the_run_fails(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    calls: list[int] = []

    async def mark_failed(ticket: Ticket, ctx: ActionContext) -> Snooze:
        calls.append(ticket.id)
        return Snooze(0)

    domain, trigger = failing(mark_failed)
    async with running(domain, dev_env, database_url) as ember:
        outcome = await (await ember.run_trigger((Ticket, ticket_id), trigger)).result()
    assert outcome.status == "failed"
    assert outcome.error is not None and outcome.error.message == "escalation service down"
    assert len(calls) == ON_ERROR_SNOOZES + 1


async def test_ash_oban_a_drain_counts_a_run_whose_on_error_snoozes_as_snoozed(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    await add_tickets(engine, 1)

    async def mark_failed(ticket: Ticket, ctx: ActionContext) -> Snooze:
        return Snooze(3600)

    domain, trigger = failing(mark_failed)
    async with running(domain, dev_env, database_url) as ember:
        summary = await ember.schedule_and_run_triggers(trigger, timeout=60)
    assert summary == TriggerRunSummary(snoozed=1)


async def test_ash_oban_on_error_on_a_row_that_no_longer_matches_ends_cancelled(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    compensated: list[int] = []
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action
    async def escalate(ticket: Ticket, ctx: ActionContext) -> None:
        async with engine.begin() as elsewhere:  # someone closes the ticket meanwhile
            await elsewhere.execute(
                update(Ticket).where(Ticket.id == ticket.id).values(status="closed")
            )
        raise RuntimeError("escalation service down")

    @tickets.action
    async def mark_failed(ticket: Ticket, ctx: ActionContext) -> None:
        compensated.append(ticket.id)

    trigger = tickets.trigger(
        "escalate",
        action=escalate,
        where=Ticket.status == "open",
        scheduler_cron=None,
        on_error=mark_failed,
        lock_for_update=False,  # so the other transaction can close it mid-action
    )
    async with running(domain, dev_env, database_url) as ember:
        outcome = await (await ember.run_trigger((Ticket, ticket_id), trigger)).result()
    assert (outcome.status, outcome.reason) == ("cancelled", "trigger_no_longer_applies")
    assert outcome.error is not None and outcome.error.message == "escalation service down"
    assert compensated == []
