"""Transactional enqueue: a run starts if and only if the enqueuing transaction commits."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from ember.activities.outbox import BATCH, IDLE_POLL, OutboxRelay
from ember.activities.runtime import WorkerRuntime
from ember.activities.types import Outcome
from ember.registry import ActionContext, Domain, RowActorPersister, Trigger, enqueue_trigger
from ember.registry.tables import OUTBOX_MAX_ATTEMPTS, outbox
from ember.workflows.testing.devstack import free_port
from examples.helpdesk.models import Organisation, Ticket, User
from tests.integration.support import add_tickets, running, unique_domain
from tests.integration.waiting import eventually, outbox_rows, workflow_status

TRIAGE = {"reason": "triage"}


class Reason(BaseModel):
    """Input of the enqueued action."""

    reason: str = "unspecified"


@dataclass
class Seen:
    """What the actions of the outbox domain saw."""

    escalated: list[tuple[int, Any, str]] = field(default_factory=list)
    followed_up: list[int] = field(default_factory=list)


def outbox_domain(seen: Seen) -> tuple[Domain, Trigger, Trigger]:
    """``escalate`` (input, actor) and ``triage``, whose action enqueues ``escalate``."""
    domain = unique_domain()
    tickets = domain.resource(Ticket, actor_persister=RowActorPersister(User))

    @tickets.action(input=Reason)
    async def escalate(ticket: Ticket, ctx: ActionContext) -> None:
        actor = ctx.actor.name if isinstance(ctx.actor, User) else ctx.actor
        seen.escalated.append((ticket.id, actor, ctx.input.reason))
        ticket.escalated = True

    @tickets.action
    async def triage(ticket: Ticket, ctx: ActionContext) -> None:
        seen.followed_up.append(ticket.id)
        await enqueue_trigger(ctx.session, ticket, escalate_trigger, input=TRIAGE)
        if ticket.subject == "fails after enqueuing":
            raise RuntimeError("triage failed")

    escalate_trigger = tickets.trigger("escalate", action=escalate, scheduler_cron=None)
    triage_trigger = tickets.trigger("triage", action=triage, scheduler_cron=None)
    return domain, escalate_trigger, triage_trigger


def later(escalate: Trigger, ticket_id: int) -> str:
    """The id of the run an enqueue with input ``{"reason": "later"}`` starts."""
    return escalate.workflow_id(None, str(ticket_id), action_input={"reason": "later"})


async def run_started(client: Client, workflow_id: str) -> Outcome:
    """Wait for the relay to start ``workflow_id``, then for its outcome."""

    async def started() -> bool:
        return await workflow_status(client, workflow_id) is not None

    await eventually(started, what=f"{workflow_id} started by the relay")
    outcome: Outcome = await client.get_workflow_handle(workflow_id, result_type=Outcome).result()
    return outcome


async def test_an_enqueue_that_commits_runs_with_its_actor_and_input(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    seen = Seen()
    domain, escalate, _ = outbox_domain(seen)
    async with running(domain, dev_env, database_url, actor_signing_key="k") as ember:
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            session.add(Organisation(slug="acme", name="Acme"))
            agent = User(id=7, organisation="acme", name="Agent")
            ticket = Ticket(id=42, organisation="acme", subject="created with its follow-up")
            session.add_all([agent, ticket])
            await session.flush()
            await enqueue_trigger(session, ticket, escalate, actor=agent, input={"reason": "vip"})
        vip = escalate.workflow_id(None, "42", action_input={"reason": "vip"})
        outcome = await run_started(ember.client, vip)

        async def delivered() -> bool:
            return await outbox_rows(engine) == 0

        await eventually(delivered, what="the delivered row removed from ember_outbox")
    assert outcome.status == "succeeded"
    assert seen.escalated == [(42, "Agent", "vip")]


async def test_an_enqueue_that_rolls_back_runs_nothing(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    rolled_back, committed = await add_tickets(engine, 2)
    seen = Seen()
    domain, escalate, _ = outbox_domain(seen)
    async with running(domain, dev_env, database_url) as ember:
        async with AsyncSession(engine) as session:
            await session.begin()
            await enqueue_trigger(session, (Ticket, rolled_back), escalate)
            assert await outbox_rows(engine) == 0, "not visible before commit"
            await session.rollback()
            with pytest.raises(ValueError, match="input: expected input accepted by escalate"):
                await enqueue_trigger(
                    session, (Ticket, committed), escalate, input={"reason": ["not", "text"]}
                )
        assert await outbox_rows(engine) == 0
        async with AsyncSession(engine) as session, session.begin():
            await enqueue_trigger(session, (Ticket, committed), escalate)
        # The relay delivers in order: once the later row ran, the earlier one never will.
        outcome = await run_started(ember.client, escalate.workflow_id(None, str(committed)))
    assert outcome.status == "succeeded"
    assert (
        await workflow_status(dev_env.client, escalate.workflow_id(None, str(rolled_back))) is None
    )
    assert seen.escalated == [(committed, None, "unspecified")]


async def test_rows_committed_while_no_worker_runs_are_delivered_once_one_starts(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    ids = await add_tickets(engine, 3)
    seen = Seen()
    domain, escalate, _ = outbox_domain(seen)
    async with AsyncSession(engine) as session, session.begin():
        for ticket_id in ids:
            await enqueue_trigger(session, (Ticket, ticket_id), escalate, input={"reason": "later"})
    assert await outbox_rows(engine) == 3
    for ticket_id in ids:
        assert await workflow_status(dev_env.client, later(escalate, ticket_id)) is None
    async with running(domain, dev_env, database_url) as ember:
        outcomes = [await run_started(ember.client, later(escalate, i)) for i in ids]

        async def delivered() -> bool:
            return await outbox_rows(engine) == 0

        await eventually(delivered, what="ember_outbox emptied")
    assert [outcome.status for outcome in outcomes] == ["succeeded"] * 3
    assert sorted(seen.escalated) == [(i, None, "later") for i in ids]


async def test_an_action_enqueues_its_follow_up_only_if_it_commits(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (failing,) = await add_tickets(engine, 1, subject="fails after enqueuing")
    (succeeding,) = await add_tickets(engine, 1, first_id=2)
    seen = Seen()
    domain, escalate, triage = outbox_domain(seen)
    async with running(domain, dev_env, database_url) as ember:
        failed = await (await ember.run_trigger((Ticket, failing), triage)).result()
        passed = await (await ember.run_trigger((Ticket, succeeding), triage)).result()
        follow_up = await run_started(
            ember.client, escalate.workflow_id(None, str(succeeding), action_input=TRIAGE)
        )
    assert (failed.status, passed.status, follow_up.status) == ("failed", "succeeded", "succeeded")
    assert seen.followed_up == [failing, succeeding]
    assert seen.escalated == [(succeeding, None, "triage")]
    failing_id = escalate.workflow_id(None, str(failing), action_input=TRIAGE)
    assert await workflow_status(dev_env.client, failing_id) is None


def with_a_trigger_the_worker_lacks(domain: Domain) -> Trigger:
    """A trigger of a second ``Domain`` of the same name: the worker has never heard of it."""
    newer = Domain(domain.name)
    tickets = newer.resource(Ticket)

    @tickets.action
    async def archive(ticket: Ticket, ctx: ActionContext) -> None:
        ticket.status = "archived"

    return tickets.trigger("archive", action=archive, scheduler_cron=None)


async def outbox_state(engine: AsyncEngine) -> list[tuple[int, str | None, bool]]:
    """(attempts, last_error, backing off) of every row, oldest first."""
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(
                outbox.c.attempts, outbox.c.last_error, outbox.c.next_attempt_at > func.now()
            ).order_by(outbox.c.id)
        )
        return [tuple(row) for row in rows]


async def test_rows_that_cannot_start_do_not_hold_back_the_rows_behind_them(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    ids = await add_tickets(engine, BATCH + 1)
    seen = Seen()
    domain, escalate, _ = outbox_domain(seen)
    unknown = with_a_trigger_the_worker_lacks(domain)
    async with AsyncSession(engine) as session, session.begin():
        for ticket_id in ids[:-1]:
            await enqueue_trigger(session, (Ticket, ticket_id), unknown)
        await enqueue_trigger(session, (Ticket, ids[-1]), escalate)
    async with running(domain, dev_env, database_url) as ember:
        outcome = await run_started(ember.client, escalate.workflow_id(None, str(ids[-1])))
    assert outcome.status == "succeeded"
    state = await outbox_state(engine)
    assert len(state) == BATCH, "the delivered row is gone, the undeliverable ones wait"
    assert all(0 < attempts < OUTBOX_MAX_ATTEMPTS for attempts, _, _ in state), "still retried"
    assert all(f"found {unknown.name!r}" in (error or "") for _, error, _ in state), state[0]


async def test_a_row_that_keeps_failing_becomes_a_dead_letter_and_can_be_redelivered(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    seen = Seen()
    domain, _, _ = outbox_domain(seen)
    unknown = with_a_trigger_the_worker_lacks(domain)
    async with AsyncSession(engine) as session, session.begin():
        await enqueue_trigger(session, (Ticket, ticket_id), unknown)
        await session.execute(update(outbox).values(attempts=OUTBOX_MAX_ATTEMPTS - 1))

    async def attempts_used() -> bool:
        return [attempts for attempts, _, _ in await outbox_state(engine)] == [OUTBOX_MAX_ATTEMPTS]

    async with running(domain, dev_env, database_url):
        await eventually(attempts_used, what="the last attempt recorded")
        async with engine.begin() as connection:  # due now: only being dead keeps it back
            await connection.execute(update(outbox).values(next_attempt_at=func.now()))
        await asyncio.sleep(4 * IDLE_POLL)
        assert await attempts_used(), "a dead letter is not tried again"
    # Deploy the trigger and reset the attempts: the row is delivered.
    async with engine.begin() as connection:
        await connection.execute(update(outbox).values(attempts=0, next_attempt_at=func.now()))
    async with running(unknown.resource.domain, dev_env, database_url) as ember:
        outcome = await run_started(ember.client, unknown.workflow_id(None, str(ticket_id)))
    assert outcome.status == "succeeded"
    assert await outbox_state(engine) == []


async def test_while_temporal_is_unreachable_the_relay_waits_without_using_attempts(
    database_url: str, engine: AsyncEngine
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    domain, escalate, _ = outbox_domain(Seen())
    async with AsyncSession(engine) as session, session.begin():
        await enqueue_trigger(session, (Ticket, ticket_id), escalate)
    nowhere = await Client.connect(f"127.0.0.1:{free_port()}", lazy=True)
    relay = OutboxRelay(WorkerRuntime(domain, engine, nowhere))
    assert await relay.deliver_once() == 0
    assert await outbox_state(engine) == [(0, None, False)], "untouched, due as before"
