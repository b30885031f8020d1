"""Actors: a reference in the memo, looked up in the action's transaction; defaults; tampering."""

from __future__ import annotations

import base64
import json
from typing import Any

from sqlalchemy import delete, insert, inspect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from temporalio.testing import WorkflowEnvironment

from ember.activities.dispatch import start_record_run
from ember.registry import ActionContext, Domain, RowActorPersister, Trigger
from ember.workflows.client import TriggerClient
from examples.helpdesk.models import Ticket, User
from tests.integration.support import (
    add_tickets,
    running,
    temporal_cli,
    ticket_values,
    unique_domain,
)

SYSTEM = "the-system-actor"


def actor_domain(
    seen: list[Any], compensated: list[int] | None = None, **domain_options: Any
) -> tuple[Domain, Trigger]:
    """Tickets with users as actors; the action records the actor it was given."""
    domain = Domain(unique_domain().name, **domain_options)
    tickets = domain.resource(Ticket, actor_persister=RowActorPersister(User))

    @tickets.action
    async def escalate(ticket: Ticket, ctx: ActionContext) -> None:
        actor = ctx.actor
        if isinstance(actor, User):
            assert inspect(actor).session is ctx.session.sync_session, (
                "looked up in the run's transaction"
            )
            seen.append(("user", actor.id, actor.name))
            ticket.escalated_by = actor.id
        else:
            seen.append(actor)
        ticket.escalated = True

    @tickets.action
    async def compensate(ticket: Ticket, ctx: ActionContext) -> None:
        if compensated is not None:
            compensated.append(ticket.id)

    trigger = tickets.trigger(
        "escalate", action=escalate, scheduler_cron=None, max_attempts=3, on_error=compensate
    )
    return domain, trigger


async def add_users(engine: AsyncEngine, *users: tuple[int, str]) -> None:
    """Insert users of organisation acme."""
    async with engine.begin() as connection:
        await connection.execute(
            insert(User), [{"id": i, "organisation": "acme", "name": name} for i, name in users]
        )


async def load_user(engine: AsyncEngine, user_id: int) -> User:
    """A persistent User row, as application code would hold it."""
    async with AsyncSession(engine, expire_on_commit=False) as session:
        user = await session.get(User, user_id)
    assert user is not None
    return user


def decoded(value: Any) -> Any:
    """A memo field as the CLI prints it: a raw payload, or its JSON shorthand."""
    if isinstance(value, dict) and "data" in value and "metadata" in value:
        return json.loads(base64.b64decode(value["data"]))
    return value


async def test_actor_travels_as_a_reference_in_the_memo_and_is_looked_up_for_the_action(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    await add_users(engine, (7, "Agent Smith"))
    agent = await load_user(engine, 7)
    seen: list[Any] = []
    domain, trigger = actor_domain(seen)
    async with running(domain, dev_env, database_url) as ember:
        outcome = await (
            await ember.run_trigger((Ticket, ticket_id), trigger, actor=agent)
        ).result()
    assert outcome.status == "succeeded"
    assert seen == [("user", 7, "Agent Smith")]
    assert await ticket_values(engine, "escalated_by", [ticket_id]) == [7]
    described = await temporal_cli(
        dev_env, "workflow", "describe", "--workflow-id", trigger.workflow_id(None, str(ticket_id))
    )
    fields = described["workflowExecutionInfo"]["memo"]["fields"]
    assert {name: decoded(value) for name, value in fields.items()} == {
        "actor": {"ref": {"type": "users", "id": 7}}
    }
    assert "Agent Smith" not in json.dumps(described), "the actor itself never travels"


async def test_the_domain_default_actor_acts_when_none_is_given(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    first, second, scanned = await add_tickets(engine, 3)
    await add_users(engine, (7, "Agent Smith"))
    agent = await load_user(engine, 7)
    seen: list[Any] = []
    domain, trigger = actor_domain(seen, default_actor=SYSTEM)
    async with running(domain, dev_env, database_url) as ember:
        await (await ember.run_trigger((Ticket, first), trigger)).result()
        await (await ember.run_trigger((Ticket, second), trigger, actor=agent)).result()
        summary = await ember.schedule_and_run_triggers(trigger)
    assert seen[:2] == [SYSTEM, ("user", 7, "Agent Smith")]
    # The scan re-runs all three tickets (none is excluded by a where), each as the default.
    assert summary.succeeded == 3 and seen[2:] == [SYSTEM] * 3
    described = await temporal_cli(
        dev_env, "workflow", "describe", "--workflow-id", trigger.workflow_id(None, str(scanned))
    )
    assert not described["workflowExecutionInfo"].get("memo", {}).get("fields")


async def test_an_actor_that_no_longer_exists_discards_the_run_without_acting(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    await add_users(engine, (8, "Gone Soon"))
    leaver = await load_user(engine, 8)
    async with engine.begin() as connection:
        await connection.execute(delete(User).where(User.id == 8))
    seen: list[Any] = []
    compensated: list[int] = []
    domain, trigger = actor_domain(seen, compensated)
    async with running(domain, dev_env, database_url) as ember:
        handle = await ember.run_trigger((Ticket, ticket_id), trigger, actor=leaver)
        outcome = await handle.result()
    assert (outcome.status, outcome.attempts) == ("discarded", 1), "not retried"
    assert outcome.error is not None and outcome.error.type == "ember.ActorNotFound"
    assert "actor reference" in outcome.error.message, outcome.error.message
    assert "'type': 'users'" in outcome.error.message and "'id': 8" in outcome.error.message
    assert outcome.reason == outcome.error.message
    assert seen == [] and compensated == [], "neither the action nor on_error ran"
    assert await ticket_values(engine, "escalated", [ticket_id]) == [False]


async def test_a_reference_not_signed_with_the_workers_key_is_rejected(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    honest, forged, unsigned = await add_tickets(engine, 3)
    await add_users(engine, (1, "Admin"), (7, "Agent Smith"))
    agent = await load_user(engine, 7)
    seen: list[Any] = []
    domain, trigger = actor_domain(seen)
    async with running(domain, dev_env, database_url, actor_signing_key="worker-key") as ember:
        signed = await (await ember.run_trigger((Ticket, honest), trigger, actor=agent)).result()
        attacker = TriggerClient(dev_env.client, domain, signing_key=b"attacker-key")
        admin_ref = {"type": "users", "id": 1}
        tampered = await (
            await attacker.run_trigger((Ticket, forged), trigger, actor_ref=admin_ref)
        ).result()
        careless = TriggerClient(dev_env.client, domain)
        bare = await (await careless.run_trigger((Ticket, unsigned), trigger, actor=agent)).result()
    assert signed.status == "succeeded"
    assert seen == [("user", 7, "Agent Smith")], "only the correctly signed run acted"
    for outcome in (tampered, bare):
        assert outcome.status == "discarded"
        assert outcome.error is not None and outcome.error.type == "ember.ActorNotFound"
        assert "missing or invalid signature" in outcome.error.message
    assert await ticket_values(engine, "escalated", [honest, forged, unsigned]) == [
        True,
        False,
        False,
    ]


async def test_a_signed_reference_copied_into_another_run_is_rejected(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    honest, other, drained = await add_tickets(engine, 3)
    await add_users(engine, (1, "Admin"))
    admin = await load_user(engine, 1)
    seen: list[Any] = []
    domain, trigger = actor_domain(seen)
    async with running(domain, dev_env, database_url, actor_signing_key="worker-key") as ember:
        handle = await ember.run_trigger((Ticket, honest), trigger, actor=admin)
        assert (await handle.result()).status == "succeeded"
        copied = await (await handle.describe()).memo_value("actor")
        # Someone with namespace access starts a run of their own with the admin's memo.
        replayed = await start_record_run(
            dev_env.client, trigger, None, str(other), actor=copied, source="direct"
        )
        refused = await replayed.result()
        # The drain's scan signs each run it starts for that run's record (no `where`: all three).
        summary = await ember.schedule_and_run_triggers(trigger, actor=admin)
    assert (refused.status, refused.attempts) == ("discarded", 1)
    assert refused.error is not None and "invalid signature for" in refused.error.message
    assert summary.succeeded == 3 and summary.discarded == 0
    assert seen == [("user", 1, "Admin")] * 4, "the honest run, then the drain's three"
    assert await ticket_values(engine, "escalated", [honest, other, drained]) == [True] * 3


async def test_a_reference_of_an_unknown_actor_type_is_discarded_without_acting(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    robot, no_id = await add_tickets(engine, 2)
    seen: list[Any] = []
    compensated: list[int] = []
    domain, trigger = actor_domain(seen, compensated)
    async with running(domain, dev_env, database_url) as ember:
        outcomes = [
            await (await ember.run_trigger((Ticket, pk), trigger, actor_ref=ref)).result()
            for pk, ref in ((robot, {"type": "robots", "id": 1}), (no_id, {"type": "users"}))
        ]
    for outcome in outcomes:
        assert (outcome.status, outcome.attempts) == ("discarded", 1)
        assert outcome.error is not None and "names no known actor type" in outcome.error.message
    assert seen == [] and compensated == [], "neither the action nor on_error ran"
    assert await ticket_values(engine, "escalated", [robot, no_id]) == [False, False]
