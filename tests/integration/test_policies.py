"""Action policies: allow, deny (discarded ``forbidden``), and Ember's own runs let through."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from temporalio.testing import WorkflowEnvironment

from ember.activities.types import ScheduledOutcome
from ember.registry import ActionContext, Domain, RowActorPersister, Trigger
from ember.registry.checks import trigger_interaction
from examples.helpdesk.actions import can_escalate
from examples.helpdesk.models import Ticket, User
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


async def test_an_async_policy_is_awaited_and_its_denial_holds(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    allowed_id, denied_id = await add_tickets(engine, 2)
    admin, _ = await users(engine)
    acted: list[int] = []
    domain = unique_domain()
    tickets = domain.resource(Ticket, actor_persister=RowActorPersister(User))

    async def only_the_first_ticket(actor: Any, ticket: Ticket, ctx: ActionContext) -> bool:
        first = await ctx.session.scalar(select(func.min(Ticket.id)))
        return ticket.id == first

    @tickets.action(policy=only_the_first_ticket)
    async def escalate(ticket: Ticket, ctx: ActionContext) -> None:
        acted.append(ticket.id)
        ticket.escalated = True

    trigger = tickets.trigger(
        "escalate", action=escalate, where=Ticket.escalated.is_(False), scheduler_cron=None
    )
    async with running(domain, dev_env, database_url) as ember:
        allowed = await (
            await ember.run_trigger((Ticket, allowed_id), trigger, actor=admin)
        ).result()
        denied = await (await ember.run_trigger((Ticket, denied_id), trigger, actor=admin)).result()
    assert allowed.status == "succeeded"
    assert (denied.status, denied.reason) == ("discarded", "forbidden")
    assert acted == [allowed_id]
    assert await ticket_values(engine, "escalated", [allowed_id, denied_id]) == [True, False]


async def test_scheduled_runs_face_the_policy_and_pass_through_trigger_interaction(
    test_env: WorkflowEnvironment, database_url: str
) -> None:
    ran: list[str] = []
    seen: list[tuple[str, str, object]] = []
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    def admins_only(actor: Any, record: Any, ctx: ActionContext) -> bool:
        seen.append(("admins_only", ctx.source, record))
        return getattr(actor, "is_admin", False)

    def admins_or_ember(actor: Any, record: Any, ctx: ActionContext) -> bool:
        seen.append(("admins_or_ember", ctx.source, record))
        return trigger_interaction(ctx)

    @tickets.action(policy=admins_only)
    async def purge(ctx: ActionContext) -> None:
        ran.append("purge")

    @tickets.action(policy=admins_or_ember)
    async def report(ctx: ActionContext) -> None:
        ran.append("report")

    purging = tickets.schedule("purge", cron="@daily", action=purge, max_attempts=3)
    reporting = tickets.schedule("report", cron="@daily", action=report)
    async with running(domain, test_env, database_url, search_attributes=False) as ember:
        denied: ScheduledOutcome = await (await ember.start_scan(purging)).result()
        allowed: ScheduledOutcome = await (await ember.start_scan(reporting)).result()
    outcome = denied.outcomes["-"]
    assert (outcome.status, outcome.reason, outcome.attempts) == ("discarded", "forbidden", 1)
    assert allowed.outcomes["-"].status == "succeeded"
    assert ran == ["report"]
    assert seen == [("admins_only", "schedule", None), ("admins_or_ember", "schedule", None)]


def guarded_with_on_error(
    denied: set[int], compensated: list[int], **options: Any
) -> tuple[Domain, Trigger]:
    """``escalate`` denied for the ``denied`` tickets, with an on_error (no policy) that writes."""
    domain = unique_domain()
    tickets = domain.resource(Ticket, actor_persister=RowActorPersister(User))

    def policy(actor: Any, ticket: Ticket, ctx: ActionContext) -> bool:
        return ticket.id not in denied and can_escalate(actor, ticket, ctx)

    @tickets.action(policy=policy)
    async def escalate(ticket: Ticket, ctx: ActionContext) -> None:
        ticket.escalated = True

    @tickets.action
    async def mark_failed(ticket: Ticket, ctx: ActionContext) -> None:
        compensated.append(ticket.id)
        ticket.last_error = "compensated"

    trigger = tickets.trigger(
        "escalate",
        action=escalate,
        where=Ticket.escalated.is_(False),
        scheduler_cron=None,
        on_error=mark_failed,
        **options,
    )
    return domain, trigger


async def test_a_denied_run_does_not_run_on_error_as_the_denied_actor(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    _, agent = await users(engine)
    compensated: list[int] = []
    domain, trigger = guarded_with_on_error(set(), compensated, max_attempts=3)
    async with running(domain, dev_env, database_url) as ember:
        outcome = await (
            await ember.run_trigger((Ticket, ticket_id), trigger, actor=agent)
        ).result()
    assert (outcome.status, outcome.reason, outcome.attempts) == ("discarded", "forbidden", 1)
    assert compensated == [], "on_error would act as the actor the policy just refused"
    assert await ticket_values(engine, "last_error", [ticket_id]) == [None]
    assert await ticket_values(engine, "escalated", [ticket_id]) == [False]


async def test_a_denied_record_of_a_chunk_does_not_run_on_error(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    ids = await add_tickets(engine, 3)
    compensated: list[int] = []
    domain, trigger = guarded_with_on_error({ids[1]}, compensated, chunk_size=3)
    async with running(domain, dev_env, database_url) as ember:
        summary = await ember.schedule_and_run_triggers(trigger)
    assert (summary.succeeded, summary.discarded, summary.total) == (2, 1, 3)
    assert compensated == []
    assert await ticket_values(engine, "last_error", ids) == [None, None, None]
    assert await ticket_values(engine, "escalated", ids) == [True, False, True]
