"""Record runs end to end on the dev server: lock, re-check, act, commit."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from ember.registry import ActionContext, Domain, RowActorPersister
from ember.registry.tables import trigger_completions
from examples.helpdesk.models import Ticket, User
from tests.integration.support import (
    add_tickets,
    running,
    temporal_cli,
    ticket_values,
    unique_domain,
)


def escalation_domain(**options: object) -> Domain:
    """Tickets that are open and not escalated get escalated."""
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action
    async def escalate(ticket: Ticket, ctx: ActionContext) -> None:
        ticket.escalated = True

    tickets.trigger(
        "escalate",
        action=escalate,
        where=(Ticket.status == "open") & Ticket.escalated.is_(False),
        scheduler_cron="@daily",  # a domain drain runs triggers that have a schedule
        **options,
    )
    return domain


async def test_matching_rows_are_processed_and_others_untouched(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    matching = await add_tickets(engine, 5)
    closed = await add_tickets(engine, 3, first_id=100, status="closed")
    domain = escalation_domain()
    async with running(domain, dev_env, database_url) as ember:
        summary = await ember.schedule_and_run_triggers(domain)
    assert summary.succeeded == 5 and summary.total == 5
    assert await ticket_values(engine, "escalated", matching) == [True] * 5
    assert await ticket_values(engine, "escalated", closed) == [False] * 3


async def test_row_that_stops_matching_before_the_run_is_cancelled_without_the_action(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    calls: list[int] = []
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action
    async def escalate(ticket: Ticket, ctx: ActionContext) -> None:
        calls.append(ticket.id)

    trigger = tickets.trigger(
        "escalate", action=escalate, where=Ticket.status == "open", scheduler_cron=None
    )
    async with engine.begin() as connection:
        await connection.execute(update(Ticket).values(status="closed"))
    async with running(domain, dev_env, database_url) as ember:
        outcome = await (await ember.run_trigger((Ticket, ticket_id), trigger)).result()
    assert (outcome.status, outcome.reason) == ("cancelled", "trigger_no_longer_applies")
    assert calls == []


async def test_locked_row_waits_and_the_action_sees_the_committed_state(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (ticket_id,) = await add_tickets(engine, 1, subject="before")
    seen: list[str] = []
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action
    async def record_subject(ticket: Ticket, ctx: ActionContext) -> None:
        seen.append(ticket.subject)

    trigger = tickets.trigger("look", action=record_subject, scheduler_cron=None)
    async with running(domain, dev_env, database_url) as ember, engine.connect() as blocker:
        transaction = await blocker.begin()
        await blocker.execute(
            text("UPDATE tickets SET subject = 'after' WHERE id = :id"), {"id": ticket_id}
        )
        handle = await ember.run_trigger((Ticket, ticket_id), trigger)
        await asyncio.sleep(1.5)
        assert seen == [], "the action ran while another transaction held the row"
        await transaction.commit()
        outcome = await handle.result()
    assert outcome.status == "succeeded"
    assert seen == ["after"]


async def test_failed_action_leaves_no_partial_writes(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action
    async def half_done(ticket: Ticket, ctx: ActionContext) -> None:
        ticket.subject = "half written"
        await ctx.session.flush()
        raise RuntimeError("boom after a write")

    trigger = tickets.trigger("half", action=half_done, scheduler_cron=None)
    async with running(domain, dev_env, database_url) as ember:
        outcome = await (await ember.run_trigger((Ticket, ticket_id), trigger)).result()
    assert outcome.status == "failed"
    assert outcome.error is not None and outcome.error.message == "boom after a write"
    assert await ticket_values(engine, "subject", [ticket_id]) == [f"ticket {ticket_id}"]


async def test_trigger_once_never_reruns_a_record_even_after_its_workflow_is_deleted(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    ids = await add_tickets(engine, 3)
    runs: list[int] = []
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action
    async def touch(ticket: Ticket, ctx: ActionContext) -> None:
        runs.append(ticket.id)

    trigger = tickets.trigger("once", action=touch, scheduler_cron=None, trigger_once=True)
    async with running(domain, dev_env, database_url) as ember:
        first = await ember.schedule_and_run_triggers(trigger)
        deleted = trigger.workflow_id(None, str(ids[0]))
        await dev_env.client.workflow_service.delete_workflow_execution(
            DeleteWorkflowExecutionRequest(
                namespace=dev_env.client.namespace,
                workflow_execution=WorkflowExecution(workflow_id=deleted),
            )
        )
        await _wait_until_deleted(dev_env, deleted)
        second = await ember.schedule_and_run_triggers(trigger)
        direct = await (await ember.run_trigger((Ticket, ids[0]), trigger)).result()
    assert first.succeeded == 3 and second.total == 0
    assert (direct.status, direct.reason) == ("cancelled", "trigger_no_longer_applies")
    assert sorted(runs) == ids
    async with engine.connect() as connection:
        count = await connection.scalar(text("SELECT count(*) FROM ember_trigger_completions"))
    assert count == 3
    async with engine.begin() as connection:
        await connection.execute(delete(trigger_completions))


async def test_two_scans_while_a_run_is_in_flight_give_one_run(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    runs: list[int] = []
    release, started = asyncio.Event(), asyncio.Event()
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action
    async def slow(ticket: Ticket, ctx: ActionContext) -> None:
        runs.append(ticket.id)
        started.set()
        await release.wait()

    trigger = tickets.trigger("slow", action=slow, scheduler_cron=None)
    async with running(domain, dev_env, database_url) as ember:
        await (await ember.start_scan(trigger)).result()
        await asyncio.wait_for(started.wait(), 30)
        await (await ember.start_scan(trigger)).result()
        handle = dev_env.client.get_workflow_handle(trigger.workflow_id(None, str(ticket_id)))
        release.set()
        await handle.result()
    assert runs == [ticket_id]


async def test_memo_and_search_attributes_are_visible_through_the_temporal_cli(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    ids = await add_tickets(engine, 2)
    async with AsyncSession(engine) as session, session.begin():
        agent = User(id=7, organisation="acme", name="Agent")
        session.add(agent)
    domain = unique_domain()
    tickets = domain.resource(Ticket, actor_persister=RowActorPersister(User))

    @tickets.action
    async def escalate(ticket: Ticket, ctx: ActionContext) -> None:
        ticket.escalated_by = ctx.actor.id

    trigger = tickets.trigger("escalate", action=escalate, scheduler_cron=None)
    async with running(domain, dev_env, database_url) as ember:
        await ember.schedule_and_run_triggers(trigger, actor=agent)
    assert await ticket_values(engine, "escalated_by", ids) == [7, 7]
    query = (
        "EmberTrigger='escalate' AND EmberResource='tickets' AND EmberTenant='-' "
        f"AND EmberOutcome='succeeded' AND WorkflowId STARTS_WITH '{trigger.schedule_id}/'"
    )
    listed: set[str] = set()
    for _ in range(50):  # visibility is eventually consistent
        rows = await temporal_cli(dev_env, "workflow", "list", "--query", query)
        listed = {row["execution"]["workflowId"] for row in rows}
        if len(listed) == len(ids):
            break
        await asyncio.sleep(0.2)
    assert listed == {trigger.workflow_id(None, str(i)) for i in ids}
    described = await temporal_cli(
        dev_env, "workflow", "describe", "--workflow-id", trigger.workflow_id(None, str(ids[0]))
    )
    info = described["workflowExecutionInfo"]
    memo = json.dumps(info["memo"])
    assert "actor" in memo and "users" in memo and "Agent" not in memo
    attributes = info["searchAttributes"]["indexedFields"]
    assert set(attributes) >= {"EmberTrigger", "EmberRecord", "EmberOutcome"}


async def _wait_until_deleted(env: WorkflowEnvironment, workflow_id: str) -> None:
    for _ in range(600):
        try:
            await env.client.get_workflow_handle(workflow_id).describe()
        except RPCError:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{workflow_id} was not deleted")


@pytest.mark.parametrize("local_activity", [False, True], ids=["activity", "local_activity"])
async def test_a_lock_not_had_in_time_is_retried_without_using_an_attempt(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine, local_activity: bool
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    attempts: list[int] = []
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action
    async def touch(ticket: Ticket, ctx: ActionContext) -> None:
        attempts.append(ctx.attempt)

    trigger = tickets.trigger(
        "touch", action=touch, scheduler_cron=None, max_attempts=1, local_activity=local_activity
    )
    async with (
        running(domain, dev_env, database_url, lock_timeout=timedelta(milliseconds=200)) as ember,
        engine.connect() as blocker,
    ):
        transaction = await blocker.begin()
        await blocker.execute(
            text("SELECT 1 FROM tickets WHERE id = :id FOR UPDATE"), {"id": ticket_id}
        )
        handle = await ember.run_trigger((Ticket, ticket_id), trigger)
        await asyncio.sleep(2.5)  # several lock timeouts pass while the row is held
        await transaction.commit()
        outcome = await handle.result()
    assert (outcome.status, outcome.attempts) == ("succeeded", 1)
    assert attempts == [1]


async def test_local_activity_acts_in_the_workflow_task_with_no_activity_task(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    matching = await add_tickets(engine, 3)
    domain = escalation_domain(local_activity=True)
    trigger = domain.get_trigger("tickets", "escalate")
    async with running(domain, dev_env, database_url) as ember:
        summary = await ember.schedule_and_run_triggers(domain)
        history = await dev_env.client.get_workflow_handle(
            trigger.workflow_id(None, str(matching[0]))
        ).fetch_history()
    assert summary.succeeded == 3
    assert await ticket_values(engine, "escalated", matching) == [True] * 3
    kinds = {event.event_type for event in history.events}
    assert EventType.EVENT_TYPE_MARKER_RECORDED in kinds
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in kinds
