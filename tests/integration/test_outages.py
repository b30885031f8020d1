"""Outages are not the record's fault: no attempt used, no on_error, within a bound.

The outage here is real: the action's own connection is ended by the server
(``pg_terminate_backend``), as a restart or a failover ends it.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from ember.activities.run_results import RunHandle
from ember.activities.types import UNAVAILABLE_ERROR, ChunkOutcome, Outcome
from ember.registry import ActionContext, Domain, Trigger, naming
from ember.workflows.attempts import OUTAGE_TRIES
from examples.helpdesk.models import Ticket
from tests.integration.support import add_tickets, running, ticket_values, unique_domain

END_MY_CONNECTION = text("SELECT pg_terminate_backend(pg_backend_pid())")


class Ledger:
    """What the actions saw: calls per ticket with their attempt numbers, on_error calls."""

    def __init__(self) -> None:
        self.attempts: dict[int, list[int]] = {}
        self.compensated: list[int] = []

    def calls(self) -> Counter[int]:
        """Action calls per ticket."""
        return Counter({key: len(seen) for key, seen in self.attempts.items()})


Step = Callable[[Ticket, ActionContext, int], Awaitable[None]]


def ledger_domain(ledger: Ledger, step: Step, **options: Any) -> tuple[Domain, Trigger]:
    """A trigger whose action runs ``step(ticket, ctx, call)`` then escalates the ticket.

    Both the action and on_error note what they saw in ``ledger``.
    """
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action
    async def act(ticket: Ticket, ctx: ActionContext) -> None:
        seen = ledger.attempts.setdefault(ticket.id, [])
        seen.append(ctx.attempt)
        await step(ticket, ctx, len(seen))
        ticket.escalated = True

    @tickets.action
    async def compensate(ticket: Ticket, ctx: ActionContext) -> None:
        assert ctx.error is not None
        ledger.compensated.append(ticket.id)
        ticket.last_error = f"{ctx.error.type}: {ctx.error.message}"

    options = {"max_attempts": 1, **options}
    trigger = tickets.trigger(
        "t",
        action=act,
        on_error=compensate,
        where=Ticket.escalated.is_(False),
        scheduler_cron=None,
        **options,
    )
    return domain, trigger


def outage_domain(
    ledger: Ledger, cut_off: Callable[[int, int], bool], **options: Any
) -> tuple[Domain, Trigger]:
    """A trigger whose action ends its own connection when ``cut_off(ticket, call)``."""

    async def step(ticket: Ticket, ctx: ActionContext, call: int) -> None:
        if cut_off(ticket.id, call):
            await ctx.session.execute(END_MY_CONNECTION)

    return ledger_domain(ledger, step, **options)


@pytest.mark.parametrize("local_activity", [False, True], ids=["activity", "local_activity"])
async def test_a_connection_the_server_ends_uses_no_attempt_and_runs_no_on_error(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine, local_activity: bool
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    ledger = Ledger()
    domain, trigger = outage_domain(
        ledger, lambda _ticket, call: call == 1, local_activity=local_activity
    )
    async with running(domain, dev_env, database_url) as ember:
        outcome: Outcome = await (await ember.run_trigger((Ticket, ticket_id), trigger)).result()
    assert (outcome.status, outcome.attempts) == ("succeeded", 1)
    assert ledger.attempts == {ticket_id: [1, 1]}  # the outage did not use attempt 1
    assert ledger.compensated == []
    assert await ticket_values(engine, "escalated", [ticket_id]) == [True]


async def test_an_outage_in_a_chunk_uses_no_attempt_and_runs_no_on_error(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    ids = await add_tickets(engine, 4)
    ledger = Ledger()
    domain, trigger = outage_domain(
        ledger, lambda ticket, call: ticket == ids[1] and call == 1, chunk_size=4
    )
    async with running(domain, dev_env, database_url) as ember:
        await (await ember.start_scan(trigger)).result()
        chunk_id = naming.chunk_workflow_id(
            domain.name, "tickets", "t", None, str(ids[0]), str(ids[-1])
        )
        handle = dev_env.client.get_workflow_handle(chunk_id, result_type=ChunkOutcome)
        result = await handle.result()
    assert {key: (o.status, o.attempts) for key, o in result.outcomes.items()} == {
        str(key): ("succeeded", 1) for key in ids
    }
    # The records after the outage ran on a new connection; the one cut off ran again.
    assert ledger.calls() == {ids[0]: 1, ids[1]: 2, ids[2]: 1, ids[3]: 1}
    assert ledger.compensated == []


@pytest.mark.parametrize("local_activity", [False, True], ids=["activity", "local_activity"])
async def test_an_outage_outlasting_the_retries_ends_failed_unavailable_without_on_error(
    test_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine, local_activity: bool
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    ledger = Ledger()
    domain, trigger = outage_domain(ledger, lambda _t, _c: True, local_activity=local_activity)
    async with running(domain, test_env, database_url, search_attributes=False) as ember:
        outcome: Outcome = await (await ember.run_trigger((Ticket, ticket_id), trigger)).result()
    assert (outcome.status, outcome.attempts) == ("failed", 0)
    assert outcome.error is not None and outcome.error.type == UNAVAILABLE_ERROR
    assert outcome.error.message.startswith(f"gave up after {OUTAGE_TRIES} tries")
    assert "terminating connection" in outcome.error.message
    assert ledger.calls() == {ticket_id: OUTAGE_TRIES}
    assert ledger.compensated == []


async def test_a_chunk_record_outage_outlasting_the_retries_ends_failed_unavailable(
    test_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    ids = await add_tickets(engine, 2)
    ledger = Ledger()
    domain, trigger = outage_domain(ledger, lambda ticket, _c: ticket == ids[0], chunk_size=2)
    async with running(domain, test_env, database_url, search_attributes=False) as ember:
        await (await ember.start_scan(trigger)).result()
        chunk_id = naming.chunk_workflow_id(
            domain.name, "tickets", "t", None, str(ids[0]), str(ids[-1])
        )
        handle = RunHandle(test_env.client, chunk_id, result_type=ChunkOutcome)
        for _ in range(60):  # a handle not from start_workflow does not skip time itself
            if (await handle.describe()).status != WorkflowExecutionStatus.RUNNING:
                break
            await test_env.sleep(timedelta(minutes=1))
        result = await handle.result()
    cut_off, healthy = result.outcomes[str(ids[0])], result.outcomes[str(ids[1])]
    assert (cut_off.status, cut_off.attempts) == ("failed", 0)
    assert cut_off.error is not None and cut_off.error.type == UNAVAILABLE_ERROR
    assert (healthy.status, healthy.attempts) == ("succeeded", 1)
    assert ledger.calls()[ids[0]] == OUTAGE_TRIES
    assert ledger.compensated == []


async def test_waiting_for_the_pool_is_not_part_of_an_attempt(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    ids = await add_tickets(engine, 12)
    ledger = Ledger()

    async def hold(_ticket: Ticket, _ctx: ActionContext, _call: int) -> None:
        await asyncio.sleep(0.4)  # inside the 1 s timeout, holding one of two connections

    domain, trigger = ledger_domain(ledger, hold, timeout=timedelta(seconds=1))
    async with running(domain, dev_env, database_url, database_pool_size=1) as ember:
        summary = await ember.schedule_and_run_triggers(trigger)
    assert summary.succeeded == len(ids), summary
    assert ledger.attempts == {key: [1] for key in ids}
    assert ledger.compensated == []


async def test_an_action_past_its_timeout_still_uses_an_attempt(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    slow, stuck = await add_tickets(engine, 2)
    ledger = Ledger()

    async def linger(ticket: Ticket, ctx: ActionContext, call: int) -> None:
        if ticket.id == stuck or call == 1:
            await ctx.session.execute(text("SELECT pg_sleep(30)"))  # cut off mid-statement

    domain, trigger = ledger_domain(
        ledger,
        linger,
        max_attempts=2,
        backoff=timedelta(seconds=1),
        timeout=timedelta(seconds=1),
    )
    async with running(domain, dev_env, database_url) as ember:
        first = await (await ember.run_trigger((Ticket, slow), trigger)).result()
        second = await (await ember.run_trigger((Ticket, stuck), trigger)).result()
    assert (first.status, first.attempts) == ("succeeded", 2)
    assert (second.status, second.attempts) == ("errored_handled", 2)
    assert ledger.attempts == {slow: [1, 2], stuck: [1, 2]}
    assert ledger.compensated == [stuck]
    assert await ticket_values(engine, "last_error", [stuck]) == ["Timeout: attempt exceeded 1s"]
