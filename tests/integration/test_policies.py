"""Action policies: allow, deny (discarded ``forbidden``), and trigger runs let through."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from temporalio.testing import WorkflowEnvironment

from examples.helpdesk.actions import can_escalate
from examples.helpdesk.models import Ticket, User
from registry import ActionContext, Domain, RowActorPersister, Trigger
from tests.integration.support import add_tickets, running, ticket_values, unique_domain


@dataclass
class Log:
    """What the policy decided and what the action did."""

    decisions: list[tuple[str, int | None, int, bool]] = field(default_factory=list)
    acted: list[int] = field(default_factory=list)


def guarded(log: Log) -> tuple[Domain, Trigger]:
    """``escalate`` guarded by the helpdesk's ``can_escalate`` (admins, or trigger runs)."""
    domain = unique_domain()
    tickets = domain.resource(Ticket, actor_persister=RowActorPersister(User))

    def policy(actor: Any, ticket: Ticket, ctx: ActionContext) -> bool:
        allowed = can_escalate(actor, ticket, ctx)
        log.decisions.append((ctx.source, getattr(actor, "id", None), ticket.id, allowed))
        return allowed

    @tickets.action(policy=policy)
    async def escalate(ticket: Ticket, ctx: ActionContext) -> None:
        log.acted.append(ticket.id)
        ticket.escalated = True

    trigger = tickets.trigger(
        "escalate",
        action=escalate,
        where=Ticket.escalated.is_(False),
        scheduler_cron=None,
        max_attempts=3,
    )
    return domain, trigger


async def users(engine: AsyncEngine) -> tuple[User, User]:
    """An admin (id 1) and an agent (id 2) of acme, as application code holds them."""
    async with engine.begin() as connection:
        await connection.execute(
            insert(User),
            [
                {"id": 1, "organisation": "acme", "name": "Admin", "is_admin": True},
                {"id": 2, "organisation": "acme", "name": "Agent", "is_admin": False},
            ],
        )
    async with AsyncSession(engine, expire_on_commit=False) as session:
        admin, agent = await session.get(User, 1), await session.get(User, 2)
    assert admin is not None and agent is not None
    return admin, agent


async def test_a_policy_that_allows_lets_a_direct_run_act(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    admin, _ = await users(engine)
    log = Log()
    domain, trigger = guarded(log)
    async with running(domain, dev_env, database_url) as ember:
        outcome = await (
            await ember.run_trigger((Ticket, ticket_id), trigger, actor=admin)
        ).result()
    assert outcome.status == "succeeded"
    assert log.decisions == [("direct", 1, ticket_id, True)]
    assert log.acted == [ticket_id]
    assert await ticket_values(engine, "escalated", [ticket_id]) == [True]


async def test_a_policy_that_denies_discards_a_direct_run_as_forbidden(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    as_agent, as_nobody = await add_tickets(engine, 2)
    _, agent = await users(engine)
    log = Log()
    domain, trigger = guarded(log)
    async with running(domain, dev_env, database_url) as ember:
        denied = await (await ember.run_trigger((Ticket, as_agent), trigger, actor=agent)).result()
        anonymous = await (await ember.run_trigger((Ticket, as_nobody), trigger)).result()
    for outcome in (denied, anonymous):
        assert (outcome.status, outcome.reason, outcome.attempts) == ("discarded", "forbidden", 1)
    assert log.decisions == [
        ("direct", 2, as_agent, False),
        ("direct", None, as_nobody, False),
    ], "asked once each: a denial is not retried"
    assert log.acted == []
    assert await ticket_values(engine, "escalated", [as_agent, as_nobody]) == [False, False]


async def test_runs_started_by_a_scan_pass_through_trigger_interaction(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    ids = await add_tickets(engine, 3)
    _, agent = await users(engine)
    log = Log()
    domain, trigger = guarded(log)
    async with running(domain, dev_env, database_url) as ember:
        summary = await ember.schedule_and_run_triggers(trigger, actor=agent)
    assert summary.succeeded == 3 and summary.total == 3
    assert sorted(log.decisions) == [("trigger", 2, i, True) for i in ids], (
        "the agent alone may not escalate; the scan's runs may"
    )
    assert sorted(log.acted) == ids
