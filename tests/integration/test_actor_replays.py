"""Replaying a signed actor reference elsewhere or later: refused (issue 15, item 9)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

import ember.workflows.record as workflows_record
from ember.activities.dispatch import start_record_run
from ember.registry import ActionContext, Domain, RowActorPersister, Snooze, Trigger
from ember.registry.signing import Scope, Signer
from ember.workflows.client import TriggerClient
from examples.helpdesk.models import Organisation, Ticket, User
from tests.integration.support import (
    add_organisations,
    add_tickets,
    running,
    ticket_values,
    unique_domain,
)
from tests.integration.test_actors import actor_domain, add_users, load_user

KEY = "worker-key"


async def copied_memo(client: TriggerClient, trigger: Trigger, tenant: str | None, key: str) -> Any:
    """The actor memo of a finished run, as anyone with namespace access can read it."""
    handle = client.client.get_workflow_handle(trigger.workflow_id(tenant, key))
    return await (await handle.describe()).memo_value("actor")


async def replay(
    client: TriggerClient, trigger: Trigger, tenant: str | None, key: str, memo: Any
) -> Any:
    """Start a run of one's own for ``key`` with a copied memo; its outcome."""
    handle = await start_record_run(
        client.client, trigger, tenant, key, actor=memo, source="direct"
    )
    return await handle.result()


async def add_admin(engine: AsyncEngine) -> User:
    """User 1, "Admin", as application code would hold it."""
    await add_users(engine, (1, "Admin"))
    return await load_user(engine, 1)


def assert_refused(outcome: Any) -> None:
    """The run ended discarded on its actor's signature, without acting."""
    assert (outcome.status, outcome.attempts) == ("discarded", 1), outcome
    assert outcome.error is not None and outcome.error.type == "ember.ActorNotFound"
    assert "invalid signature for" in outcome.error.message, outcome.error.message


def organisation_domain(seen: list[str]) -> tuple[Domain, Trigger]:
    """Organisations (string keys) renamed by an action that notes which it touched."""
    domain = unique_domain()
    organisations = domain.resource(Organisation, actor_persister=RowActorPersister(User))

    @organisations.action
    async def rename(organisation: Organisation, ctx: ActionContext) -> None:
        seen.append(organisation.slug)
        organisation.name = f"renamed by {ctx.actor.name}"

    return domain, organisations.trigger("rename", action=rename, scheduler_cron=None)


async def test_a_signature_for_record_star_is_refused_for_record_secret(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    await add_organisations(engine, "acme", "*", "secret")
    admin = await add_admin(engine)
    seen: list[str] = []
    domain, trigger = organisation_domain(seen)
    async with running(domain, dev_env, database_url, actor_signing_key=KEY) as ember:
        star = await (await ember.run_trigger((Organisation, "*"), trigger, actor=admin)).result()
        memo = await copied_memo(ember, trigger, None, "*")
        refused = await replay(ember, trigger, None, "secret", memo)
    assert star.status == "succeeded"
    assert_refused(refused)
    assert seen == ["*"], "record '*' is one record, not every record"
    async with engine.connect() as connection:
        secret = await connection.scalar(
            select(Organisation.name).where(Organisation.slug == "secret")
        )
    assert secret == "Secret"


def tenant_domain(seen: list[Any], tenants: list[str]) -> tuple[Domain, Trigger]:
    """Tickets with tenants (attribute strategy) and users as actors."""
    domain = unique_domain()
    tickets = domain.resource(
        Ticket,
        tenant_column="organisation",
        list_tenants=tenants,
        actor_persister=RowActorPersister(User),
    )

    @tickets.action
    async def escalate(ticket: Ticket, ctx: ActionContext) -> None:
        seen.append((ctx.tenant, ticket.id))
        ticket.escalated = True

    trigger = tickets.trigger(
        "escalate", action=escalate, where=Ticket.escalated.is_(False), scheduler_cron=None
    )
    return domain, trigger


async def test_a_drain_of_tenant_star_signs_for_that_tenant_not_every_tenant(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (starred,) = await add_tickets(engine, 1, organisation="*", first_id=1)
    (acme,) = await add_tickets(engine, 1, organisation="acme", first_id=2)
    admin = await add_admin(engine)
    seen: list[Any] = []
    domain, trigger = tenant_domain(seen, ["*", "acme"])
    async with running(domain, dev_env, database_url, actor_signing_key=KEY) as ember:
        drained = await ember.schedule_and_run_triggers(trigger, tenant="*", actor=admin)
        memo = await copied_memo(ember, trigger, "*", str(starred))
        refused = await replay(ember, trigger, "acme", str(acme), memo)
    assert drained.succeeded == 1
    assert_refused(refused)
    assert seen == [("*", starred)]
    assert await ticket_values(engine, "escalated", [starred, acme]) == [True, False]


async def test_a_drain_s_memo_holds_for_its_own_record_only(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (drained_id,) = await add_tickets(engine, 1, organisation="acme", first_id=1)
    admin = await add_admin(engine)
    seen: list[Any] = []
    domain, trigger = tenant_domain(seen, ["acme", "globex"])
    async with running(domain, dev_env, database_url, actor_signing_key=KEY) as ember:
        drained = await ember.schedule_and_run_triggers(trigger, actor=admin)  # every tenant
        memo = await copied_memo(ember, trigger, "acme", str(drained_id))
        # Records created after the drain: another tenant's, and one of the same tenant.
        (globex,) = await add_tickets(engine, 1, organisation="globex", first_id=2)
        (later,) = await add_tickets(engine, 1, organisation="acme", first_id=3)
        other_tenant = await replay(ember, trigger, "globex", str(globex), memo)
        same_tenant_later = await replay(ember, trigger, "acme", str(later), memo)
    assert drained.succeeded == 1
    assert_refused(other_tenant)
    assert_refused(same_tenant_later)
    assert seen == [("acme", drained_id)]
    escalated = await ticket_values(engine, "escalated", [drained_id, globex, later])
    assert escalated == [True, False, False]


async def test_a_drain_whose_reference_is_refused_fails_before_starting_any_run(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    admin = await add_admin(engine)
    seen: list[Any] = []
    domain, trigger = actor_domain(seen)
    async with running(domain, dev_env, database_url, actor_signing_key=KEY):
        attacker = TriggerClient(dev_env.client, domain, signing_key=b"attacker-key")
        with pytest.raises(WorkflowFailureError) as failed:
            await attacker.schedule_and_run_triggers(trigger, actor=admin)
    assert "missing or invalid signature" in str(failed.value.cause)  # ember.ScanFailed
    assert seen == []
    assert await ticket_values(engine, "escalated", [ticket_id]) == [False]


async def test_a_memo_signed_longer_ago_than_the_maximum_age_is_refused(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    seen: list[Any] = []
    domain, trigger = actor_domain(seen)
    # A memo leaked two hours ago (the default maximum age is one hour).
    scope = Scope.of(trigger, "", None, str(ticket_id))
    leaked = Signer(KEY.encode()).seal(
        {"type": "users", "id": 1}, scope, issued_at=time.time() - 7200
    )
    async with running(domain, dev_env, database_url, actor_signing_key=KEY) as ember:
        outcome = await replay(ember, trigger, None, str(ticket_id), leaked)
    assert (outcome.status, outcome.attempts) == ("discarded", 1)
    assert outcome.error is not None and outcome.error.type == "ember.ActorNotFound"
    assert "EMBER_ACTOR_MAX_AGE" in outcome.error.message, outcome.error.message
    assert seen == []
    assert await ticket_values(engine, "escalated", [ticket_id]) == [False]


async def test_a_run_snoozing_past_the_maximum_age_keeps_its_actor_across_continue_as_new(
    dev_env: WorkflowEnvironment,
    database_url: str,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(workflows_record, "SNOOZES_PER_RUN", 2)  # continue-as-new early
    (ticket_id,) = await add_tickets(engine, 1)
    await add_users(engine, (7, "Agent Smith"))
    agent = await load_user(engine, 7)
    calls: list[int] = []
    domain = unique_domain()
    tickets = domain.resource(Ticket, actor_persister=RowActorPersister(User))

    @tickets.action
    async def patient(ticket: Ticket, ctx: ActionContext) -> Snooze | None:
        calls.append(ctx.actor.id)
        if len(calls) <= 3:
            return Snooze(2)
        ticket.escalated_by = ctx.actor.id
        return None

    trigger = tickets.trigger("patient", action=patient, scheduler_cron=None)
    async with running(
        domain, dev_env, database_url, actor_signing_key=KEY, actor_max_age=3
    ) as ember:
        handle = await ember.run_trigger((Ticket, ticket_id), trigger, actor=agent)
        outcome = await handle.result()
        runs = [run async for run in dev_env.client.list_workflows(f"WorkflowId = '{handle.id}'")]
    assert outcome.status == "succeeded", outcome
    assert calls == [7, 7, 7, 7], "the actor resolved on every call, 6 s after it was signed"
    assert len(runs) >= 2, "the run continued as new while snoozing"
    assert await ticket_values(engine, "escalated_by", [ticket_id]) == [7]
