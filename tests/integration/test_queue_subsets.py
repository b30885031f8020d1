"""Workers for a subset of queues (AshOban's ``require?: false``): EMBER_REQUIRE_ALL_QUEUES."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.testing import WorkflowEnvironment

from ember.registry import ActionContext, RegistryError
from examples.helpdesk.models import Ticket
from tests.integration.support import add_tickets, running, unique_domain


async def test_require_false_lets_two_workers_split_the_queues_of_one_registry(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    await add_tickets(engine, 3)
    ran_on: list[str] = []
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action
    async def note(ticket: Ticket, ctx: ActionContext) -> None:
        ran_on.append(activity.info().task_queue)

    trigger = tickets.trigger(
        "note", action=note, scheduler_cron=None, queue="records", scheduler_queue="scans"
    )
    with pytest.raises(RegistryError, match=r"note\.queue: expected a queue the worker runs"):
        async with running(domain, dev_env, database_url, queues={"scans": 1}):
            pass  # every queue is required by default: refused before connecting
    async with (
        running(
            domain, dev_env, database_url, queues={"scans": 1}, require_all_queues=False
        ) as ember,
        running(domain, dev_env, database_url, queues={"records": 2}, require_all_queues=False),
    ):
        summary = await ember.schedule_and_run_triggers(trigger)
    assert summary.succeeded == 3 and summary.total == 3
    assert ran_on == [f"{domain.name}.records"] * 3


async def test_a_queue_no_declaration_uses_is_refused_even_without_require(
    dev_env: WorkflowEnvironment, database_url: str
) -> None:
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action
    async def note(ticket: Ticket, ctx: ActionContext) -> None:
        pass

    tickets.trigger("note", action=note, scheduler_cron=None)
    with pytest.raises(RegistryError) as raised:
        async with running(
            domain, dev_env, database_url, queues={"tikets": 1}, require_all_queues=False
        ):
            pass
    assert [str(problem) for problem in raised.value.problems] == [
        f"{domain.name}.queues.tikets: expected a queue some declaration uses (tickets), "
        "found 'tikets'; fix: remove tikets from EMBER_QUEUES (--queues) or fix its name"
    ]
