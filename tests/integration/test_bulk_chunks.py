"""Bulk chunks (AshOban Pro's ``chunks``): one bulk action per chunk, in one transaction
that locks the chunk's still-matching rows ``FOR UPDATE SKIP LOCKED``."""

from __future__ import annotations

import asyncio
import threading
import urllib.request
from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from ember.activities.attributes import OUTCOME_KEY
from ember.activities.bulk_types import LOCKED_ELSEWHERE
from ember.activities.dispatch import start_chunk_run
from ember.activities.metrics import RUNS
from ember.activities.types import NO_LONGER_APPLIES, ChunkOutcome, Outcome
from ember.registry import ActionContext, Domain, Snooze, Trigger, naming
from ember.workflows.client import TriggerClient
from ember.workflows.connection import connect
from ember.workflows.settings import Settings
from ember.workflows.status import trigger_status
from ember.workflows.testing.devstack import free_port
from ember.workflows.worker import EmberWorker
from examples.helpdesk.models import Digest, Ticket
from tests.integration.support import add_tickets, running, ticket_values, unique_domain
from tests.integration.waiting import eventually, until_state

NOT_ESCALATED = Ticket.escalated.is_(False)


def bulk_trigger(chunk_size: int, where: Any = NOT_ESCALATED) -> tuple[Trigger, list[list[int]]]:
    """A trigger ``bulk`` (in a new domain) whose bulk action escalates the records it is
    given; and the list of the calls' ticket ids."""
    tickets = unique_domain().resource(Ticket)
    calls: list[list[int]] = []

    @tickets.action(bulk=True)
    async def escalate_many(records: list[Ticket], ctx: ActionContext) -> None:
        calls.append([ticket.id for ticket in records])
        for ticket in records:
            ticket.escalated = True

    trigger = tickets.trigger(
        "bulk", action=escalate_many, where=where, scheduler_cron=None, chunk_size=chunk_size
    )
    return trigger, calls


def chunk_outcome(domain: Domain, first: int, last: int, env: WorkflowEnvironment) -> Any:
    """The handle of the bulk run for the records ``first`` to ``last``."""
    workflow_id = naming.chunk_workflow_id(
        domain.name, "tickets", "bulk", None, str(first), str(last)
    )
    return env.client.get_workflow_handle(workflow_id, result_type=ChunkOutcome)


async def test_every_matching_row_is_acted_on_once_by_one_bulk_call_per_chunk(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    ids = await add_tickets(engine, 12)
    trigger, calls = bulk_trigger(5)
    domain = trigger.resource.domain
    async with running(domain, dev_env, database_url) as ember:
        summary = await ember.schedule_and_run_triggers(trigger)
        again = await ember.schedule_and_run_triggers(trigger)
        handle = chunk_outcome(domain, ids[0], ids[4], dev_env)
        result = await handle.result()
        described = await handle.describe()
    assert sorted(calls) == [ids[0:5], ids[5:10], ids[10:12]]
    assert summary.succeeded == 12 and summary.total == 12
    assert again.total == 0
    assert result.outcomes == {str(i): Outcome("succeeded", 1) for i in ids[0:5]}
    assert described.workflow_type == naming.BULK_CHUNK_WORKFLOW
    assert described.typed_search_attributes.get(OUTCOME_KEY) == "succeeded"
    assert await ticket_values(engine, "escalated", ids) == [True] * 12

    async def counted() -> bool:
        status = await trigger_status(dev_env.client, engine, trigger)
        return (status.outcomes["succeeded"], status.running) == (3, 0)

    await eventually(counted, what="status counting 3 bulk chunk runs as succeeded")


async def test_a_row_locked_elsewhere_is_skipped_and_picked_up_by_the_next_scan(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    ids = await add_tickets(engine, 6)
    held = ids[2]
    trigger, calls = bulk_trigger(10)
    domain = trigger.resource.domain
    async with running(domain, dev_env, database_url) as ember:
        async with engine.connect() as other, other.begin():  # another transaction's lock
            await other.execute(select(Ticket.id).where(Ticket.id == held).with_for_update())
            first = await ember.schedule_and_run_triggers(trigger)
            result = await chunk_outcome(domain, ids[0], ids[-1], dev_env).result()
        second = await ember.schedule_and_run_triggers(trigger)
    assert calls == [[i for i in ids if i != held], [held]]
    assert (first.succeeded, first.cancelled, first.total) == (5, 1, 6)
    assert result.outcomes[str(held)] == Outcome("cancelled", 1, reason=LOCKED_ELSEWHERE)
    assert (second.succeeded, second.total) == (1, 1)
    assert await ticket_values(engine, "escalated", ids) == [True] * 6


async def test_a_row_that_stopped_matching_is_cancelled_and_not_given_to_the_action(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    ids = await add_tickets(engine, 4)
    stopped = ids[1]
    trigger, calls = bulk_trigger(4, Ticket.status == "open")
    domain = trigger.resource.domain
    async with engine.begin() as connection:  # between the scan and the chunk's transaction
        await connection.execute(update(Ticket).where(Ticket.id == stopped).values(status="x"))
    async with running(domain, dev_env, database_url):
        handle = await start_chunk_run(dev_env.client, trigger, None, [str(i) for i in ids])
        result = await handle.result()
    assert calls == [[i for i in ids if i != stopped]]
    assert result.outcomes[str(stopped)] == Outcome("cancelled", 1, reason=NO_LONGER_APPLIES)
    assert Counter(o.status for o in result.outcomes.values()) == {"succeeded": 3, "cancelled": 1}
    assert await ticket_values(engine, "escalated", ids) == [True, False, True, True]


async def test_a_failing_bulk_action_retries_as_a_chunk_then_on_error_runs_once_with_all(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    ids = await add_tickets(engine, 4)
    domain = unique_domain()
    tickets = domain.resource(Ticket)
    attempts: list[tuple[list[int], int, bool]] = []
    compensated: list[tuple[list[int], str, int]] = []

    @tickets.action(bulk=True)
    async def escalate_many(records: list[Ticket], ctx: ActionContext) -> None:
        attempts.append(([t.id for t in records], ctx.attempt, ctx.last_attempt))
        for ticket in records:
            ticket.escalated = True  # rolled back with the failed attempt
        raise RuntimeError("the escalation service is down")

    @tickets.action(bulk=True)
    async def note_failure(records: list[Ticket], ctx: ActionContext) -> None:
        assert ctx.error is not None
        compensated.append(([t.id for t in records], ctx.error.message, ctx.error.attempt))
        for ticket in records:
            ticket.last_error = ctx.error.message

    trigger = tickets.trigger(
        "bulk",
        action=escalate_many,
        on_error=note_failure,
        scheduler_cron=None,
        chunk_size=10,
        max_attempts=3,
        backoff=timedelta(seconds=1),
    )
    async with running(domain, dev_env, database_url) as ember:
        summary = await ember.schedule_and_run_triggers(trigger)
        result = await chunk_outcome(domain, ids[0], ids[-1], dev_env).result()
    assert attempts == [(ids, 1, False), (ids, 2, False), (ids, 3, True)]
    assert compensated == [(ids, "the escalation service is down", 3)]
    assert {o.status for o in result.outcomes.values()} == {"errored_handled"}
    assert (summary.failed, summary.total) == (4, 4), "errored_handled counts as failed"
    assert await ticket_values(engine, "escalated", ids) == [False] * 4
    assert await ticket_values(engine, "last_error", ids) == ["the escalation service is down"] * 4


async def test_a_snooze_from_a_bulk_action_snoozes_the_whole_chunk_without_an_attempt(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    ids = await add_tickets(engine, 3)
    domain = unique_domain()
    tickets = domain.resource(Ticket)
    seen: list[tuple[int, int]] = []

    @tickets.action(bulk=True)
    async def escalate_many(records: list[Ticket], ctx: ActionContext) -> Snooze | None:
        seen.append((len(records), ctx.attempt))
        for ticket in records:
            ticket.escalated = True
        return Snooze(2) if len(seen) == 1 else None

    trigger = tickets.trigger("bulk", action=escalate_many, scheduler_cron=None, chunk_size=3)
    async with running(domain, dev_env, database_url) as ember:
        await (await ember.start_scan(trigger)).result()
        handle = chunk_outcome(domain, ids[0], ids[-1], dev_env)
        await until_state(handle, "snoozed")
        result = await handle.result()
    assert seen == [(3, 1), (3, 1)]
    assert result.outcomes == {str(i): Outcome("succeeded", 1) for i in ids}
    assert await ticket_values(engine, "escalated", ids) == [True] * 3


async def test_a_plain_def_bulk_action_runs_off_the_event_loop_and_run_trigger_gives_a_list(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    ids = await add_tickets(engine, 3)
    domain = unique_domain()
    tickets = domain.resource(Ticket)
    threads: list[tuple[str, int]] = []

    @tickets.action(bulk=True)
    def escalate_many(records: list[Ticket], ctx: ActionContext) -> None:
        threads.append((threading.current_thread().name, len(records)))
        keys = [ticket.id for ticket in records]
        ctx.session.sync_session.execute(
            update(Ticket).where(Ticket.id.in_(keys)).values(escalated=True)
        )

    trigger = tickets.trigger("bulk", action=escalate_many, scheduler_cron=None, chunk_size=2)
    async with running(domain, dev_env, database_url) as ember:
        summary = await ember.schedule_and_run_triggers(trigger)
        single = await (await ember.run_trigger((Ticket, ids[0]), trigger)).result()
    assert (summary.succeeded, summary.total) == (3, 3)
    assert sorted(threads[:2]) == [("ember-sync-action", 1), ("ember-sync-action", 2)]
    assert threads[2] == ("ember-sync-action", 1), "a run for one record gets a list of one"
    assert single.status == "succeeded"
    assert await ticket_values(engine, "escalated", ids) == [True] * 3


async def test_a_bulk_actions_policy_is_asked_per_record_and_a_denial_discards_that_record(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    ids = await add_tickets(engine, 3)
    denied = ids[1]
    domain = unique_domain()
    tickets = domain.resource(Ticket)
    calls: list[list[int]] = []

    @tickets.action(bulk=True, policy=lambda actor, ticket, ctx: ticket.id != denied)
    async def escalate_many(records: list[Ticket], ctx: ActionContext) -> None:
        calls.append([ticket.id for ticket in records])
        for ticket in records:
            ticket.escalated = True

    trigger = tickets.trigger("bulk", action=escalate_many, scheduler_cron=None, chunk_size=3)
    async with running(domain, dev_env, database_url) as ember:
        summary = await ember.schedule_and_run_triggers(trigger)
        result = await chunk_outcome(domain, ids[0], ids[-1], dev_env).result()
    assert calls == [[ids[0], ids[2]]]
    assert (summary.succeeded, summary.discarded) == (2, 1)
    assert result.outcomes[str(denied)].reason == "forbidden"
    assert await ticket_values(engine, "escalated", ids) == [True, False, True]


async def test_metrics_count_each_record_of_a_bulk_chunk(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    await add_tickets(engine, 7)
    trigger, _ = bulk_trigger(5)
    domain = trigger.resource.domain
    bind = f"127.0.0.1:{free_port()}"
    client = await connect(dev_env.client.service_client.config.target_host, metrics_bind=bind)
    settings = Settings(database_url=database_url, queues={"tickets": 4}, metrics_bind=bind)
    async with EmberWorker(domain, settings, client=client, sync=False):
        summary = await TriggerClient(client, domain).schedule_and_run_triggers(trigger)
        await asyncio.sleep(1.5)  # the exporter publishes on an interval
        page = await asyncio.to_thread(
            lambda: urllib.request.urlopen(f"http://{bind}/metrics", timeout=5).read().decode()
        )
    runs = [
        float(line.rsplit(" ", 1)[1])
        for line in page.splitlines()
        if line.startswith(f"{RUNS}{{") and 'trigger="bulk"' in line
    ]
    assert summary.succeeded == 7
    assert sum(runs) == 7, page


async def test_on_error_acts_on_the_rows_still_matching_and_the_others_end_cancelled(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    acme = await add_tickets(engine, 2)
    beta = await add_tickets(engine, 2, organisation="beta", first_id=3)
    domain = unique_domain()
    tickets = domain.resource(Ticket)
    compensated: list[list[int]] = []

    @tickets.action(bulk=True)
    async def escalate_many(records: list[Ticket], ctx: ActionContext) -> None:
        async with engine.begin() as elsewhere:  # committed: beta's tickets stop matching
            await elsewhere.execute(insert(Digest).values(organisation="beta", open_tickets=0))
        raise RuntimeError("failed")

    @tickets.action(bulk=True)
    async def note_failure(records: list[Ticket], ctx: ActionContext) -> None:
        compensated.append([ticket.id for ticket in records])

    trigger = tickets.trigger(
        "bulk",
        action=escalate_many,
        on_error=note_failure,
        where=~exists().where(Digest.organisation == Ticket.organisation),
        scheduler_cron=None,
        chunk_size=4,
    )
    async with running(domain, dev_env, database_url):
        handle = await start_chunk_run(dev_env.client, trigger, None, [str(i) for i in acme + beta])
        result = await handle.result()
    assert compensated == [acme]
    assert {int(k): o.status for k, o in result.outcomes.items()} == {
        **dict.fromkeys(acme, "errored_handled"),
        **dict.fromkeys(beta, "cancelled"),
    }
    assert {result.outcomes[str(i)].reason for i in beta} == {NO_LONGER_APPLIES}


async def test_a_bulk_chunk_acts_only_on_its_own_tenants_rows(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    acme = await add_tickets(engine, 2, organisation="acme", first_id=1)
    globex = await add_tickets(engine, 2, organisation="globex", first_id=3)
    domain = unique_domain()
    tickets = domain.resource(Ticket, tenant_column="organisation", list_tenants=["acme", "globex"])
    calls: list[tuple[str | None, list[int]]] = []

    @tickets.action(bulk=True)
    async def escalate_many(records: list[Ticket], ctx: ActionContext) -> None:
        calls.append((ctx.tenant, [ticket.id for ticket in records]))

    trigger = tickets.trigger("bulk", action=escalate_many, scheduler_cron=None, chunk_size=10)
    async with running(domain, dev_env, database_url) as ember:
        summary = await ember.schedule_and_run_triggers(trigger)
        stray = await start_chunk_run(dev_env.client, trigger, "acme", [str(globex[0])])
        result = await stray.result()
    assert sorted(calls) == [("acme", acme), ("globex", globex)]
    assert (summary.succeeded, summary.total) == (4, 4)
    assert result.outcomes == {str(globex[0]): Outcome("cancelled", 1, reason=NO_LONGER_APPLIES)}
