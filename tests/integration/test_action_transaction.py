"""The action's transaction is Ember's: the action may not end it, and it commits only in time."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from temporalio.testing import WorkflowEnvironment

from ember.activities.deadline import Deadline
from ember.activities.runtime import WorkerRuntime, create_engine
from ember.activities.transaction import run_transaction
from ember.registry import Action, ActionContext, Resource
from examples.helpdesk.models import Ticket
from tests.integration.support import add_tickets, running, ticket_values, unique_domain

OWNED = (
    "actions must not commit, roll back or close ctx.session; Ember commits after the action "
    "(found ctx.session.{}()); fix: remove the call, and use ctx.session.begin_nested() for a "
    "savepoint you may roll back"
)


async def end_it(session: AsyncSession, method: str) -> None:
    """Call ``session.<method>()``, as a careless action would."""
    await getattr(session, method)()


@pytest.mark.parametrize(
    ("method", "swallowed"),
    [("commit", False), ("rollback", False), ("close", False), ("commit", True)],
)
async def test_an_action_that_ends_ember_s_transaction_fails_and_commits_nothing(
    test_env: WorkflowEnvironment,
    database_url: str,
    engine: AsyncEngine,
    method: str,
    swallowed: bool,
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    attempts: list[int] = []
    tickets = unique_domain().resource(Ticket)

    @tickets.action
    async def careless(ticket: Ticket, ctx: ActionContext) -> None:
        attempts.append(ctx.attempt)
        ticket.subject = "before"
        await ctx.session.flush()
        if swallowed:  # catching the error does not make it right
            with contextlib.suppress(Exception):
                await end_it(ctx.session, method)
        else:
            await end_it(ctx.session, method)
        ticket.escalated = True

    trigger = tickets.trigger(
        "careless",
        action=careless,
        scheduler_cron=None,
        max_attempts=2,
        backoff=timedelta(seconds=1),
    )
    async with running(tickets.domain, test_env, database_url, search_attributes=False) as ember:
        outcome = await (await ember.run_trigger((Ticket, ticket_id), trigger)).result()
    assert (outcome.status, outcome.attempts, attempts) == ("failed", 2, [1, 2])
    assert outcome.error is not None
    assert (outcome.error.type, outcome.error.message) == (
        "TransactionOwned",
        OWNED.format(method),
    )
    assert await ticket_values(engine, "subject", [ticket_id]) == [f"ticket {ticket_id}"]
    assert await ticket_values(engine, "escalated", [ticket_id]) == [False]


async def test_a_plain_def_action_may_not_commit_the_sync_session_either(
    test_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    tickets = unique_domain().resource(Ticket)

    @tickets.action
    def careless(ticket: Ticket, ctx: ActionContext) -> None:
        ticket.subject = "before"
        ctx.session.sync_session.commit()

    trigger = tickets.trigger("careless", action=careless, scheduler_cron=None)
    async with running(tickets.domain, test_env, database_url, search_attributes=False) as ember:
        outcome = await (await ember.run_trigger((Ticket, ticket_id), trigger)).result()
    assert outcome.status == "failed"
    assert outcome.error is not None and outcome.error.message == OWNED.format("commit")
    assert await ticket_values(engine, "subject", [ticket_id]) == [f"ticket {ticket_id}"]


async def test_savepoints_stay_allowed_and_their_rollback_undoes_only_them(
    test_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    tickets = unique_domain().resource(Ticket)

    @tickets.action
    async def careful(ticket: Ticket, ctx: ActionContext) -> None:
        ticket.escalated = True
        async with ctx.session.begin_nested():
            ticket.subject = "kept"
        savepoint = await ctx.session.begin_nested()
        ticket.last_error = "undone"
        await ctx.session.flush()
        await savepoint.rollback()

    trigger = tickets.trigger("careful", action=careful, scheduler_cron=None)
    async with running(tickets.domain, test_env, database_url, search_attributes=False) as ember:
        outcome = await (await ember.run_trigger((Ticket, ticket_id), trigger)).result()
    assert outcome.status == "succeeded"
    assert await ticket_values(engine, "escalated", [ticket_id]) == [True]
    assert await ticket_values(engine, "subject", [ticket_id]) == ["kept"]
    assert await ticket_values(engine, "last_error", [ticket_id]) == [None]


async def waited(event: threading.Event, seconds: float = 30) -> bool:
    """Wait for ``event`` on a thread, leaving the event loop free; whether it was set."""
    return await asyncio.to_thread(event.wait, seconds)


async def settled_value(engine: AsyncEngine, ticket_id: int, column: str) -> Any:
    """``column`` of the ticket once no transaction holds its row (committed or not)."""
    async with engine.begin() as connection:
        row = select(getattr(Ticket, column)).where(Ticket.id == ticket_id).with_for_update()
        return await connection.scalar(row)


def quick_trigger(tickets: Resource) -> Any:
    """An ``async def`` trigger that just marks its ticket escalated."""

    @tickets.action
    async def quick(ticket: Ticket, ctx: ActionContext) -> None:
        ticket.escalated = True

    return tickets.trigger("quick", action=quick, scheduler_cron=None)


async def test_a_blocking_def_action_stalls_no_other_run_and_its_timeout_commits_nothing(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    slow_id, quick_id = await add_tickets(engine, 2)
    entered, quick_done, outcome_seen, returned = (threading.Event() for _ in range(4))
    saw_quick_finish: list[bool] = []
    tickets = unique_domain().resource(Ticket)

    @tickets.action
    def blocking(ticket: Ticket, ctx: ActionContext) -> None:
        entered.set()
        saw_quick_finish.append(quick_done.wait(15))  # blocks its thread, as time.sleep would
        outcome_seen.wait(15)  # well past its 2 s limit
        ticket.escalated = True
        returned.set()

    slow = tickets.trigger(
        "blocking", action=blocking, scheduler_cron=None, timeout=timedelta(seconds=2)
    )
    quick = quick_trigger(tickets)
    async with running(tickets.domain, dev_env, database_url) as ember:
        slow_run = await ember.run_trigger((Ticket, slow_id), slow)
        assert await waited(entered)
        quick_outcome = await asyncio.wait_for(
            (await ember.run_trigger((Ticket, quick_id), quick)).result(), 30
        )
        quick_done.set()
        slow_outcome = await slow_run.result()
        outcome_seen.set()
        assert await waited(returned)
        assert await settled_value(engine, slow_id, "escalated") is False
    assert quick_outcome.status == "succeeded"
    assert saw_quick_finish == [True], "the other run finished while the def action blocked"
    assert (slow_outcome.status, slow_outcome.attempts) == ("failed", 1)
    assert slow_outcome.error is not None
    assert (slow_outcome.error.type, slow_outcome.error.message) == (
        "Timeout",
        "attempt exceeded 2s",
    )
    assert await ticket_values(engine, "escalated", [slow_id, quick_id]) == [False, True]


@pytest.mark.parametrize("local_activity", [False, True], ids=["activity", "local_activity"])
@pytest.mark.parametrize("kind", ["async", "def"])
async def test_an_action_running_past_its_timeout_commits_nothing(
    dev_env: WorkflowEnvironment,
    database_url: str,
    engine: AsyncEngine,
    kind: str,
    local_activity: bool,
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    returned = threading.Event()
    tickets = unique_domain().resource(Ticket)

    async def overrun_async(ticket: Ticket, ctx: ActionContext) -> None:
        ticket.subject = "written before the limit"
        await ctx.session.flush()
        await asyncio.sleep(4)
        ticket.escalated = True
        returned.set()

    def overrun_def(ticket: Ticket, ctx: ActionContext) -> None:
        ticket.subject = "written before the limit"
        ctx.session.sync_session.flush()
        time.sleep(4)
        ticket.escalated = True
        returned.set()

    action = tickets.action(overrun_async if kind == "async" else overrun_def)
    trigger = tickets.trigger(
        "overrun",
        action=action,
        scheduler_cron=None,
        timeout=timedelta(seconds=2),
        local_activity=local_activity,
    )
    async with running(tickets.domain, dev_env, database_url) as ember:
        outcome = await (await ember.run_trigger((Ticket, ticket_id), trigger)).result()
        await waited(returned, 6)  # an async action is cut off at its limit: never set
        assert await settled_value(engine, ticket_id, "subject") == f"ticket {ticket_id}"
    assert (outcome.status, outcome.attempts) == ("failed", 1)
    assert outcome.error is not None and outcome.error.type == "Timeout"
    assert await ticket_values(engine, "escalated", [ticket_id]) == [False]


async def test_a_def_action_in_a_chunk_times_out_alone(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    ids = await add_tickets(engine, 3)
    slow_id = ids[1]
    tickets = unique_domain().resource(Ticket)

    @tickets.action
    def escalate(ticket: Ticket, ctx: ActionContext) -> None:
        if ticket.id == slow_id:
            time.sleep(3)
        ticket.escalated = True

    trigger = tickets.trigger(
        "chunked",
        action=escalate,
        where=Ticket.escalated.is_(False),
        scheduler_cron=None,
        chunk_size=3,
        timeout=timedelta(seconds=1),
    )
    async with running(tickets.domain, dev_env, database_url) as ember:
        summary = await ember.schedule_and_run_triggers(trigger)
        assert await settled_value(engine, slow_id, "escalated") is False
    assert (summary.succeeded, summary.failed, summary.total) == (2, 1, 3)
    assert await ticket_values(engine, "escalated", ids) == [True, False, True]


async def test_a_def_action_reads_and_writes_through_its_session(
    test_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    first, second = await add_tickets(engine, 2)
    threads: list[str] = []
    tickets = unique_domain().resource(Ticket)

    @tickets.action
    def copy_subject(ticket: Ticket, ctx: ActionContext) -> None:
        threads.append(threading.current_thread().name)
        other = ctx.session.sync_session.get(Ticket, first)
        assert other is not None
        ticket.subject = f"after {other.subject}"
        ctx.session.sync_session.execute(text("SELECT 1"))

    trigger = tickets.trigger("copy", action=copy_subject, scheduler_cron=None)
    async with running(tickets.domain, test_env, database_url, search_attributes=False) as ember:
        outcome = await (await ember.run_trigger((Ticket, second), trigger)).result()
    assert outcome.status == "succeeded"
    assert threads != [threading.current_thread().name], "it ran off the worker's thread"
    assert await ticket_values(engine, "subject", [second]) == [f"after ticket {first}"]


async def test_a_fresh_workers_first_def_actions_may_start_all_at_once(database_url: str) -> None:
    """The thread engine's first connection is made on the worker's loop, not raced for
    by the threads' loops (SQLAlchemy guards it with a lock bound to one loop)."""
    runtime = WorkerRuntime(domain=unique_domain(), engine=create_engine(database_url), client=None)  # type: ignore[arg-type]
    plain = Action("plain", lambda ctx: None, takes_record=False)

    async def body(session: AsyncSession) -> None:
        await session.execute(text("SELECT 1"))

    try:
        results = await asyncio.gather(
            *(
                run_transaction(plain, body, Deadline(5), runtime.sessions, runtime.thread_sessions)
                for _ in range(8)
            ),
            return_exceptions=True,
        )
    finally:
        await runtime.engine.dispose()
    assert results == [None] * 8
