"""Chunk mode (``chunk_size``): per-record transactions, attempts, snoozes and on_error."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from ember.activities.types import ChunkOutcome
from ember.registry import ActionContext, Snooze, naming
from examples.helpdesk.models import Ticket
from tests.integration.support import add_tickets, escalating, running, ticket_values, unique_domain


async def test_chunks_give_each_record_its_own_outcome_attempts_and_on_error(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    ids = await add_tickets(engine, 12)
    poison, flaky, sleepy, closer, gone = ids[0], ids[1], ids[2], ids[5], ids[6]
    attempts: Counter[int] = Counter()
    last_flags: dict[int, list[bool]] = {}
    compensated: list[tuple[int, int]] = []
    snoozed: set[int] = set()
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action
    async def act(ticket: Ticket, ctx: ActionContext) -> Snooze | None:
        attempts[ticket.id] += 1
        last_flags.setdefault(ticket.id, []).append(ctx.last_attempt)
        if ticket.id == poison or (ticket.id == flaky and ctx.attempt == 1):
            ticket.subject = "must be rolled back"
            raise RuntimeError(f"broken {ticket.id}")
        if ticket.id == sleepy and ticket.id not in snoozed:
            snoozed.add(ticket.id)
            return Snooze(1)
        if ticket.id == closer:  # the next record of this chunk stops matching
            await ctx.session.execute(update(Ticket).where(Ticket.id == gone).values(status="x"))
        ticket.escalated = True
        return None

    @tickets.action
    async def compensate(ticket: Ticket, ctx: ActionContext) -> None:
        assert ctx.error is not None
        compensated.append((ticket.id, ctx.error.attempt))
        ticket.last_error = ctx.error.message

    trigger = tickets.trigger(
        "chunked",
        action=act,
        where=Ticket.status == "open",
        scheduler_cron=None,
        chunk_size=5,
        max_attempts=3,
        backoff=timedelta(seconds=1),
        on_error=compensate,
    )
    async with running(domain, dev_env, database_url) as ember:
        summary = await (await ember.start_scan(trigger)).result()
        chunks = [ids[0:5], ids[5:10], ids[10:12]]
        results = [
            await dev_env.client.get_workflow_handle(
                naming.chunk_workflow_id(
                    domain.name, "tickets", "chunked", None, str(chunk[0]), str(chunk[-1])
                ),
                result_type=ChunkOutcome,
            ).result()
            for chunk in chunks
        ]
    assert summary.dispatched == 12
    outcomes = {int(k): v.status for r in results for k, v in r.outcomes.items()}
    assert outcomes[poison] == "errored_handled"
    assert outcomes[flaky] == "succeeded" and attempts[flaky] == 2
    assert outcomes[sleepy] == "succeeded" and attempts[sleepy] == 2
    assert last_flags[sleepy] == [False, False], "a snooze used no attempt"
    assert attempts[poison] == 3 and last_flags[poison] == [False, False, True]
    assert compensated == [(poison, 3)]
    assert outcomes[gone] == "cancelled" and attempts[gone] == 0
    assert Counter(outcomes.values()) == {"succeeded": 10, "errored_handled": 1, "cancelled": 1}
    others = [i for i in ids if i not in (poison, gone)]
    assert await ticket_values(engine, "escalated", others) == [True] * len(others)
    assert await ticket_values(engine, "subject", [poison]) == [f"ticket {poison}"]
    assert await ticket_values(engine, "last_error", [poison]) == [f"broken {poison}"]


async def test_drain_counts_chunk_records_one_by_one(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    await add_tickets(engine, 23)
    trigger = escalating("chunked", chunk_size=10)
    async with running(trigger.resource.domain, dev_env, database_url) as ember:
        summary = await ember.schedule_and_run_triggers(trigger)
        again = await ember.schedule_and_run_triggers(trigger)
    assert summary.succeeded == 23 and summary.total == 23
    assert again.total == 0


async def test_a_record_timing_out_mid_query_leaves_the_rest_of_its_chunk_unharmed(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    ids = await add_tickets(engine, 4)
    slow = ids[1]
    attempts: Counter[int] = Counter()
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action
    async def act(ticket: Ticket, ctx: ActionContext) -> None:
        attempts[ticket.id] += 1
        if ticket.id == slow and ctx.attempt == 1:  # cut off inside a statement
            await ctx.session.execute(text("SELECT pg_sleep(30)"))
        ticket.escalated = True

    trigger = tickets.trigger(
        "chunked",
        action=act,
        scheduler_cron=None,
        chunk_size=4,
        max_attempts=2,
        timeout=timedelta(seconds=1),
        backoff=timedelta(seconds=1),
    )
    async with running(domain, dev_env, database_url) as ember:
        summary = await ember.schedule_and_run_triggers(trigger)
    assert summary.succeeded == 4 and summary.total == 4
    assert attempts == {ids[0]: 1, slow: 2, ids[2]: 1, ids[3]: 1}
    assert await ticket_values(engine, "escalated", ids) == [True] * 4
