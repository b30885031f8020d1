"""Every message Ember carries is cut to a few KB, and every retry loop it owns ends."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from ember.activities.messages import MESSAGE_LIMIT
from ember.activities.run_results import RunHandle
from ember.activities.types import ChunkOutcome, Outcome
from ember.registry import ActionContext, naming
from examples.helpdesk.models import Ticket
from tests.integration.support import add_tickets, running, unique_domain

RESULT_WAIT = 120.0  # before the fix these runs never ended


def utf8_size(text: str) -> int:
    """Bytes of ``text`` in UTF-8."""
    return len(text.encode())


async def test_a_chunk_of_huge_failure_messages_runs_each_action_once_and_cuts_them(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    ids = await add_tickets(engine, 40)
    calls: Counter[int] = Counter()
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action
    async def shout(ticket: Ticket, ctx: ActionContext) -> None:
        calls[ticket.id] += 1
        raise RuntimeError(f"ticket {ticket.id}: " + "x" * 100_000)

    trigger = tickets.trigger(
        "shout", action=shout, scheduler_cron=None, chunk_size=40, max_attempts=1
    )
    async with running(domain, dev_env, database_url) as ember:
        await (await ember.start_scan(trigger)).result()
        chunk_id = naming.chunk_workflow_id(
            domain.name, "tickets", "shout", None, str(ids[0]), str(ids[-1])
        )
        handle = RunHandle(dev_env.client, chunk_id, result_type=ChunkOutcome)
        result = await asyncio.wait_for(handle.result(), RESULT_WAIT)
    assert calls == dict.fromkeys(ids, 1)
    assert {outcome.status for outcome in result.outcomes.values()} == {"failed"}
    for key, outcome in result.outcomes.items():
        error = outcome.error
        assert error is not None and error.type == "RuntimeError"
        assert error.message.startswith(f"ticket {key}: xxx")
        whole = utf8_size(f"ticket {key}: ") + 100_000
        assert error.message.endswith(f"… [cut: {whole} bytes]")
        assert utf8_size(error.message) <= MESSAGE_LIMIT


@pytest.mark.parametrize("local_activity", [False, True], ids=["activity", "local_activity"])
async def test_a_three_megabyte_failure_message_ends_failed_with_the_real_error_cut(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine, local_activity: bool
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    seen: list[str] = []
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action
    async def shout(ticket: Ticket, ctx: ActionContext) -> None:
        raise ValueError("é" * (3 * 1024 * 1024 // 2))  # 3 MiB of two-byte characters

    @tickets.action
    async def note(ticket: Ticket, ctx: ActionContext) -> None:
        assert ctx.error is not None
        seen.append(ctx.error.message)
        ticket.last_error = ctx.error.message

    trigger = tickets.trigger(
        "shout",
        action=shout,
        scheduler_cron=None,
        on_error=note,
        on_error_fails_job=True,
        local_activity=local_activity,
    )
    async with running(domain, dev_env, database_url) as ember:
        handle = await ember.run_trigger((Ticket, ticket_id), trigger)
        outcome: Outcome = await asyncio.wait_for(handle.result(), RESULT_WAIT)
    assert (outcome.status, outcome.attempts) == ("failed", 1)
    assert outcome.error is not None and outcome.error.type == "ValueError"
    assert outcome.error.message.startswith("éé")
    assert outcome.error.message.endswith("… [cut: 3145728 bytes]")
    assert utf8_size(outcome.error.message) <= MESSAGE_LIMIT
    assert seen == [outcome.error.message]
    async with engine.connect() as connection:
        stored = await connection.scalar(select(Ticket.last_error).where(Ticket.id == ticket_id))
    assert stored == outcome.error.message


async def test_a_scan_page_failing_every_attempt_fails_the_scan_with_a_clear_error(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    await add_tickets(engine, 3)
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action
    async def act(ticket: Ticket, ctx: ActionContext) -> None:
        ticket.escalated = True

    trigger = tickets.trigger(
        "broken",
        action=act,
        scheduler_cron=None,
        max_scheduler_attempts=2,
        read_action=lambda: select(Ticket).where(text("no_such_column = 1")),
    )
    async with running(domain, dev_env, database_url) as ember:
        scan = await ember.start_scan(trigger)
        with pytest.raises(WorkflowFailureError) as failure:
            await asyncio.wait_for(scan.result(), RESULT_WAIT)
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "ember.ScanFailed"
    assert f"scan of {trigger.path} stopped: a page of tenant - failed 2 attempt(s)" in (
        cause.message
    )
    assert "no_such_column" in cause.message
