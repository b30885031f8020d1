"""The client API on the dev server: signal-with-start, bulk runs, drains and early errors."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from temporalio.testing import WorkflowEnvironment

import ember.activities.scan_types as activities_scan_types
from ember.registry import ActionContext, Cancel, Discard, RegistryError, Snooze, enqueue_trigger
from ember.registry.targets import PAYLOAD_LIMIT
from ember.workflows.client import TriggerClient
from ember.workflows.drain import DrainTooLarge, TriggerRunSummary
from examples.helpdesk.models import Ticket, User
from tests.integration.support import add_tickets, escalating, running, ticket_values, unique_domain
from tests.integration.waiting import outbox_rows, run_state, until_state, workflow_status


async def test_run_trigger_joins_a_snoozing_run_and_wakes_it(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    attempts: list[int] = []
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action
    async def escalate_later(ticket: Ticket, ctx: ActionContext) -> Snooze | None:
        attempts.append(ctx.attempt)
        if len(attempts) == 1:
            return Snooze(3600)
        ticket.escalated = True
        return None

    trigger = tickets.trigger("wake", action=escalate_later, scheduler_cron=None)
    async with running(domain, dev_env, database_url) as ember:
        first = await ember.run_trigger((Ticket, ticket_id), trigger)
        await until_state(first, "snoozed")
        second = await ember.run_trigger((Ticket, ticket_id), trigger)
        # An hour's snooze that ends within seconds was woken by the signal.
        outcome = await asyncio.wait_for(second.result(), timeout=15)
    assert second.id == first.id == trigger.workflow_id(None, str(ticket_id))
    assert second.result_run_id == first.result_run_id
    assert (outcome.status, outcome.attempts) == ("succeeded", 1)
    assert attempts == [1, 1], "the snooze used no attempt"
    assert await ticket_values(engine, "escalated", [ticket_id]) == [True]


async def test_run_triggers_starts_a_thousand_runs_that_all_succeed(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    ids = await add_tickets(engine, 1000)
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action
    async def escalate(ticket: Ticket, ctx: ActionContext) -> None:
        assert ctx.source == "direct"
        ticket.escalated = True

    trigger = tickets.trigger("bulk", action=escalate, scheduler_cron=None)
    async with running(domain, dev_env, database_url, queues={"tickets": 50}) as ember:
        handles = await ember.run_triggers([(Ticket, i) for i in ids], "tickets.bulk")
        outcomes = await asyncio.gather(*(handle.result() for handle in handles))
    assert {handle.id for handle in handles} == {trigger.workflow_id(None, str(i)) for i in ids}
    assert Counter(outcome.status for outcome in outcomes) == {"succeeded": 1000}
    assert await ticket_values(engine, "escalated", ids) == [True] * 1000


async def test_schedule_and_run_triggers_counts_every_kind_of_outcome(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    plan = {"ok": 3, "fail": 2, "cancel": 2, "snooze": 2, "discard": 1}
    ids: dict[str, list[int]] = {}
    first_id = 1
    for subject, count in plan.items():
        ids[subject] = await add_tickets(engine, count, first_id=first_id, subject=subject)
        first_id += count
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action
    async def by_subject(ticket: Ticket, ctx: ActionContext) -> Snooze | None:
        if ticket.subject == "fail":
            raise RuntimeError("broken")
        if ticket.subject == "cancel":
            raise Cancel("not now")
        if ticket.subject == "discard":
            raise Discard("never")
        if ticket.subject == "snooze":
            return Snooze(3600)
        ticket.escalated = True
        return None

    trigger = tickets.trigger("mixed", action=by_subject, scheduler_cron=None)
    async with running(domain, dev_env, database_url) as ember:
        summary = await ember.schedule_and_run_triggers(trigger, timeout=30)
        sleepers = [
            dev_env.client.get_workflow_handle(trigger.workflow_id(None, str(i)))
            for i in ids["snooze"]
        ]
        states = [await run_state(handle) for handle in sleepers]
        for handle in sleepers:
            await handle.terminate(reason="test over")
    assert summary == TriggerRunSummary(
        succeeded=3, failed=2, discarded=1, cancelled=2, snoozed=2, unfinished=0
    )
    assert summary.total == 10
    assert states == ["snoozed", "snoozed"]
    assert await ticket_values(engine, "escalated", ids["ok"]) == [True] * 3


async def test_a_drain_counts_runs_ended_through_temporal_and_goes_on(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    slow, terminated, cancelled = await add_tickets(engine, 3)
    release = asyncio.Event()
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action
    async def hold(ticket: Ticket, ctx: ActionContext) -> Snooze | None:
        if ticket.id != slow:
            return Snooze(3600)
        await release.wait()
        return None

    trigger = tickets.trigger("hold", action=hold, scheduler_cron=None)
    async with running(domain, dev_env, database_url) as ember:
        drain = asyncio.create_task(ember.schedule_and_run_triggers(trigger, timeout=60))
        sleepers = [
            dev_env.client.get_workflow_handle(trigger.workflow_id(None, str(i)))
            for i in (terminated, cancelled)
        ]
        for handle in sleepers:
            await until_state(handle, "snoozed")
        await sleepers[0].terminate(reason="operator")
        await sleepers[1].cancel()
        await asyncio.sleep(1)  # the drain sees both end while the slow run still holds
        release.set()
        summary = await drain
    assert summary == TriggerRunSummary(succeeded=1, failed=1, cancelled=1)


async def test_a_drain_too_large_to_wait_for_says_so_and_its_runs_still_run(
    dev_env: WorkflowEnvironment,
    database_url: str,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = await add_tickets(engine, 30)
    monkeypatch.setattr(activities_scan_types, "COLLECT_LIMIT", 50)  # about ten keys
    trigger = escalating()
    async with running(trigger.resource.domain, dev_env, database_url) as ember:
        with pytest.raises(DrainTooLarge, match=r"found .*escalate starting 30 runs"):
            await ember.schedule_and_run_triggers(trigger)
        handles = [
            dev_env.client.get_workflow_handle(trigger.workflow_id(None, str(i))) for i in ids
        ]
        outcomes = [await handle.result() for handle in handles]
    assert {outcome["status"] for outcome in outcomes} == {"succeeded"}
    assert await ticket_values(engine, "escalated", ids) == [True] * 30


class Level(BaseModel):
    """The input the checked action accepts."""

    level: int = 1
    note: str = ""


async def test_bad_calls_fail_in_the_client_before_anything_starts(
    dev_env: WorkflowEnvironment,
) -> None:
    domain = unique_domain()
    tickets = domain.resource(Ticket)
    org_tickets = domain.resource(
        Ticket, name="org_tickets", tenant_column="organisation", list_tenants=["acme"]
    )

    @tickets.action(input=Level)
    async def escalate(ticket: Ticket, ctx: ActionContext) -> None:
        ticket.escalated = True

    @org_tickets.action(name="escalate")
    async def escalate_in_org(ticket: Ticket, ctx: ActionContext) -> None:
        ticket.escalated = True

    trigger = tickets.trigger("checked", action=escalate, scheduler_cron=None)
    tenanted = org_tickets.trigger("checked_in_org", action="escalate", scheduler_cron=None)
    ember = TriggerClient(dev_env.client, domain)

    with pytest.raises(TypeError, match=r"record: expected a Ticket instance or \(Ticket, pk\)"):
        await ember.run_trigger((User, 1), trigger)
    with pytest.raises(TypeError, match="found User"):
        await ember.run_trigger(User(id=1, organisation="acme", name="Ada"), trigger)
    with pytest.raises(ValueError, match=r"trigger: expected one of .*found 'nope'"):
        await ember.run_trigger((Ticket, 1), "nope")
    elsewhere = unique_domain().resource(Ticket)
    elsewhere.action(escalate)
    elsewhere.action(digest)
    foreign = elsewhere.trigger("checked", action=escalate, scheduler_cron=None)
    with pytest.raises(ValueError, match=f"trigger: expected a trigger of domain '{domain.name}'"):
        await ember.run_trigger((Ticket, 1), foreign)
    with pytest.raises(ValueError, match="pk: expected a int key for tickets, found 'abc'"):
        await ember.run_trigger((Ticket, "abc"), trigger)
    with pytest.raises(ValueError, match="input: expected input accepted by escalate's model"):
        await ember.run_trigger((Ticket, 1), trigger, input={"level": "high"})
    with pytest.raises(ValueError, match=f"input: expected at most {PAYLOAD_LIMIT} bytes"):
        await ember.run_trigger((Ticket, 1), trigger, input={"note": "x" * PAYLOAD_LIMIT})
    with pytest.raises(ValueError, match="tenant: expected the tenant of this Ticket"):
        await ember.run_trigger((Ticket, 1), tenanted)
    with pytest.raises(ValueError, match=r"tenant: expected none \(.*checked has no tenants\)"):
        await ember.run_trigger((Ticket, 1), trigger, tenant="acme")
    globex_ticket = Ticket(id=3, organisation="globex", subject="theirs")
    make_transient_to_detached(globex_ticket)  # as if loaded: it has an identity
    with pytest.raises(ValueError, match="tenant: expected the record's own tenant 'globex'"):
        await ember.run_trigger(globex_ticket, tenanted, tenant="acme")
    with pytest.raises(
        ValueError, match=f"schedule: expected a scheduled action of domain '{domain.name}'"
    ):
        await ember.start_scan(elsewhere.schedule("digest", cron="@daily", action=digest))
    with pytest.raises(ValueError, match="found 'abc'"):  # one bad record stops the whole batch
        await ember.run_triggers([(Ticket, 1), (Ticket, 2), (Ticket, "abc")], trigger)

    for workflow_id in (
        trigger.workflow_id(None, "1"),
        trigger.workflow_id(None, "2"),
        trigger.workflow_id(None, "abc"),
        tenanted.workflow_id(None, "1"),
        trigger.workflow_id("acme", "1"),
        tenanted.workflow_id("acme", "3"),
        tenanted.workflow_id("globex", "3"),
    ):
        assert await workflow_status(dev_env.client, workflow_id) is None, workflow_id


async def digest(ctx: ActionContext) -> None:
    """A generic action."""


async def no_parameters() -> None:
    """Neither a record action nor a generic one."""


async def test_run_trigger_runs_a_generic_action_trigger_for_the_record_as_ashobans(
    test_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    await add_tickets(engine, 1)
    keys: list[object] = []
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action
    async def note(ctx: ActionContext) -> None:
        keys.append(ctx.record_key)

    trigger = tickets.trigger("note", action=note, scheduler_cron=None)
    async with running(domain, test_env, database_url, search_attributes=False) as ember:
        outcome = await (await ember.run_trigger((Ticket, 1), trigger)).result()
    assert outcome.status == "succeeded"
    assert keys == [1]


async def test_enqueue_trigger_refuses_bad_triggers_before_writing_anything(
    engine: AsyncEngine,
) -> None:
    domain = unique_domain()
    tickets = domain.resource(Ticket)
    tickets.action(no_parameters)

    @tickets.action
    async def escalate(ticket: Ticket, ctx: ActionContext) -> None:
        ticket.escalated = True

    uncallable = tickets.trigger("uncallable", action=no_parameters, scheduler_cron=None)
    invalid = tickets.trigger("late", action=escalate, scheduler_cron=None, max_attempts=0)
    fine = tickets.trigger("escalate", action=escalate, scheduler_cron=None)
    async with AsyncSession(engine) as session, session.begin():
        with pytest.raises(
            TypeError, match=r"trigger: expected the Trigger that resource\.trigger"
        ):
            await enqueue_trigger(session, (Ticket, 1), 42)  # type: ignore[arg-type]
        with pytest.raises(RegistryError, match=r"found 'no_parameters' taking \(\)"):
            await enqueue_trigger(session, (Ticket, 1), uncallable)
        with pytest.raises(RegistryError, match="max_attempts"):
            await enqueue_trigger(session, (Ticket, 1), invalid)
        with pytest.raises(ValueError, match="tenant: expected none"):
            await enqueue_trigger(session, (Ticket, 1), fine, tenant="acme")
    assert await outbox_rows(engine) == 0
