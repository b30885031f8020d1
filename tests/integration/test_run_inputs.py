"""Inputs as AshOban's: ``action_input`` merged with the call's, and unique per input."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from temporalio.testing import WorkflowEnvironment

from ember.registry import ActionContext, Domain, Snooze, Trigger, enqueue_trigger
from examples.helpdesk.models import Ticket
from tests.integration.support import add_tickets, running, unique_domain
from tests.integration.test_outbox import run_started


class Escalation(BaseModel):
    """Input of ``escalate``."""

    reason: str
    level: int = 1


def escalation(
    seen: list[tuple[int, str, int]], *, snooze_first: str = ""
) -> tuple[Domain, Trigger]:
    """``escalate`` with action_input ``{"reason": "stale", "level": 1}``; it notes its input.

    The first run whose reason is ``snooze_first`` snoozes for an hour (it stays in flight).
    """
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action(input=Escalation)
    async def escalate(ticket: Ticket, ctx: ActionContext) -> Snooze | None:
        seen.append((ticket.id, ctx.input.reason, ctx.input.level))
        if ctx.input.reason == snooze_first and len(seen) == 1:
            return Snooze(3600)
        return None

    trigger = tickets.trigger(
        "escalate",
        action=escalate,
        scheduler_cron=None,
        action_input={"reason": "stale", "level": 1},
    )
    return domain, trigger


async def test_ash_oban_action_input_merges_with_the_calls_input_and_the_call_wins(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    plain, leveled, enqueued = await add_tickets(engine, 3)
    seen: list[tuple[int, str, int]] = []
    domain, trigger = escalation(seen)
    async with running(domain, dev_env, database_url) as ember:
        await (await ember.run_trigger((Ticket, plain), trigger)).result()
        await (await ember.run_trigger((Ticket, leveled), trigger, input={"level": 3})).result()
        async with AsyncSession(engine) as session, session.begin():
            await enqueue_trigger(session, (Ticket, enqueued), trigger, input={"level": 2})
        await run_started(
            ember.client, trigger.workflow_id(None, str(enqueued), action_input={"level": 2})
        )
    assert sorted(seen) == [(plain, "stale", 1), (leveled, "stale", 3), (enqueued, "stale", 2)]


async def test_ash_oban_run_trigger_with_other_input_runs_on_its_own_and_same_input_joins(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    seen: list[tuple[int, str, int]] = []
    domain, trigger = escalation(seen, snooze_first="first")
    record = (Ticket, ticket_id)
    async with running(domain, dev_env, database_url) as ember:
        first = await ember.run_trigger(record, trigger, input={"reason": "first"})
        other = await ember.run_trigger(record, trigger, input={"reason": "other"})
        assert (await other.result()).status == "succeeded", "not joined to the snoozing run"
        again = await ember.run_trigger(record, trigger, input={"reason": "first"})
        plain = await ember.run_trigger(record, trigger, input={"reason": "stale"})
        outcomes = [(await handle.result()).status for handle in (first, again, plain)]
    assert outcomes == ["succeeded"] * 3
    assert again.id == first.id and again.result_run_id == first.result_run_id, (
        "the same input joins (and wakes) the run in flight"
    )
    assert len({first.id, other.id, plain.id}) == 3
    assert plain.id == trigger.workflow_id(None, str(ticket_id)), "the trigger's own input"
    assert first.id == trigger.workflow_id(None, str(ticket_id), action_input={"reason": "first"})
    assert first.id.startswith(f"{plain.id}/input-")
    assert seen == [
        (ticket_id, "first", 1),
        (ticket_id, "other", 1),
        (ticket_id, "first", 1),
        (ticket_id, "stale", 1),
    ]
