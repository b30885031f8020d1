"""Runs that end failed or discarded close with Temporal status Failed; Ember still
reads their ``Outcome`` (handles, drains, assertions), and the other outcomes close
Completed."""

from __future__ import annotations

import os
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.common import SearchAttributeKey
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from ember.activities.run_results import RunHandle
from ember.activities.types import ChunkOutcome, Outcome
from ember.registry import ActionContext, Domain, naming
from ember.workflows.drain import TriggerRunSummary
from ember.workflows.status import not_succeeded_query
from ember.workflows.testing.assertions import assert_triggered
from examples.helpdesk.app import build_helpdesk
from examples.helpdesk.models import Ticket
from tests.integration.support import add_tickets, running, unique_domain
from tests.integration.test_cli_commands import ROOT, cli
from tests.integration.waiting import eventually

OUTCOME = SearchAttributeKey.for_keyword(naming.OUTCOME_ATTRIBUTE)


def ticket_domain(failing: set[int], **options: Any) -> tuple[Domain, dict[str, Any]]:
    """Triggers whose action fails for the tickets in ``failing`` and escalates the rest:
    ``plain`` (no on_error), ``handled`` (on_error succeeds), ``denied`` (policy says no)
    and ``chunked`` (``chunk_size=2``)."""
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action
    async def escalate(ticket: Ticket, ctx: ActionContext) -> None:
        if ticket.id in failing:
            raise RuntimeError(f"ticket {ticket.id} refused")
        ticket.escalated = True

    @tickets.action
    async def note_failure(ticket: Ticket, ctx: ActionContext) -> None:
        ticket.last_error = "handled"

    @tickets.action(policy=lambda actor, ticket, ctx: False)
    async def never(ticket: Ticket, ctx: ActionContext) -> None:
        raise AssertionError("a denied action ran")

    common: dict[str, Any] = {"scheduler_cron": None, "max_attempts": 1, **options}
    triggers = {
        "plain": tickets.trigger("plain", action=escalate, **common),
        "handled": tickets.trigger("handled", action=escalate, on_error=note_failure, **common),
        "denied": tickets.trigger("denied", action=never, **common),
        "chunked": tickets.trigger("chunked", action=escalate, chunk_size=2, **common),
    }
    return domain, triggers


async def listed_status(client: Client, workflow_id: str) -> tuple[Any, str | None]:
    """The status and EmberOutcome visibility lists for ``workflow_id`` (latest run)."""
    query = f"WorkflowId = {naming.visibility_literal(workflow_id)}"
    async for execution in client.list_workflows(query):
        return execution.status, execution.typed_search_attributes.get(OUTCOME)
    return None, None


async def until_listed(client: Client, workflow_id: str, expected: tuple[Any, str]) -> None:
    """Wait until visibility lists ``workflow_id`` with ``expected`` (status, outcome)."""

    async def listed() -> bool:
        return await listed_status(client, workflow_id) == expected

    await eventually(listed, what=f"{workflow_id} listed as {expected}")


async def test_a_failed_run_is_listed_failed_and_its_handle_returns_the_outcome(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    domain, triggers = ticket_domain({ticket_id})
    async with running(domain, dev_env, database_url) as ember:
        handle = await ember.run_trigger((Ticket, ticket_id), triggers["plain"])
        outcome = await handle.result()
        ended = await assert_triggered(ember, "plain", (Ticket, ticket_id), outcome="failed")
    assert isinstance(handle, RunHandle)
    assert (outcome.status, outcome.attempts) == ("failed", 1)
    assert outcome.error is not None and outcome.error.type == "RuntimeError"
    assert ended == outcome
    failed = WorkflowExecutionStatus.FAILED
    await until_listed(dev_env.client, handle.id, (failed, "failed"))
    with pytest.raises(WorkflowFailureError) as raised:  # what a plain handle (the UI) sees
        await dev_env.client.get_workflow_handle(handle.id).result()
    cause = raised.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == naming.RUN_FAILED_ERROR
    assert cause.message == f"failed: RuntimeError: ticket {ticket_id} refused"


async def test_a_forbidden_run_is_listed_failed_and_a_handled_one_completed(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    denied_id, handled_id = await add_tickets(engine, 2)
    domain, triggers = ticket_domain({handled_id})
    async with running(domain, dev_env, database_url) as ember:
        denied = await ember.run_trigger((Ticket, denied_id), triggers["denied"])
        handled = await ember.run_trigger((Ticket, handled_id), triggers["handled"])
        denied_outcome, handled_outcome = await denied.result(), await handled.result()
    assert (denied_outcome.status, denied_outcome.reason) == ("discarded", "forbidden")
    assert handled_outcome.status == "errored_handled"
    await until_listed(dev_env.client, denied.id, (WorkflowExecutionStatus.FAILED, "discarded"))
    await until_listed(
        dev_env.client, handled.id, (WorkflowExecutionStatus.COMPLETED, "errored_handled")
    )


async def test_a_drain_counts_runs_that_ended_failed(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    first, second, third = await add_tickets(engine, 3)
    domain, triggers = ticket_domain({first, third})
    async with running(domain, dev_env, database_url) as ember:
        plain = await ember.schedule_and_run_triggers(triggers["plain"])
        chunked = await ember.schedule_and_run_triggers(triggers["chunked"])
        chunk = RunHandle(
            ember.client,
            naming.chunk_workflow_id(
                domain.name, "tickets", "chunked", None, str(first), str(second)
            ),
            result_type=ChunkOutcome,
        )
        chunk_outcome = await chunk.result()
    assert plain == TriggerRunSummary(succeeded=1, failed=2)
    assert chunked == TriggerRunSummary(succeeded=1, failed=2), "chunks count once per record"
    assert {key: o.status for key, o in chunk_outcome.outcomes.items()} == {
        str(first): "failed",
        str(second): "succeeded",
    }
    await until_listed(dev_env.client, chunk.id, (WorkflowExecutionStatus.FAILED, "failed"))


async def test_the_not_succeeded_query_lists_failed_discarded_and_handled_runs_only(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    ok_id, failing_id, denied_id, handled_id = await add_tickets(engine, 4)
    domain, triggers = ticket_domain({failing_id, handled_id})
    started: dict[str, Outcome] = {}
    async with running(domain, dev_env, database_url) as ember:
        for name, ticket_id in (
            ("plain", ok_id),
            ("plain", failing_id),
            ("denied", denied_id),
            ("handled", handled_id),
        ):
            handle = await ember.run_trigger((Ticket, ticket_id), triggers[name])
            started[handle.id] = await handle.result()
    expected = {i for i, outcome in started.items() if outcome.status != "succeeded"}
    assert len(expected) == 3
    query = not_succeeded_query(domain)

    async def listed() -> bool:
        return {e.id async for e in dev_env.client.list_workflows(query)} == expected

    await eventually(listed, what=f"the runs that did not succeed listed by {query!r}")


async def test_trigger_run_wait_reads_the_outcome_of_a_run_that_ended_failed(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (ticket_id,) = await add_tickets(engine, 1, organisation="acme", priority="urgent")
    name = unique_domain("cli").name
    address = dev_env.client.service_client.config.target_host
    env = os.environ | {
        "PYTHONPATH": str(ROOT),
        "EMBER_APP": "tests.integration.apps.helpdesk_app:domain",
        "EMBER_TEST_DOMAIN": name,
        "EMBER_DATABASE_URL": database_url,
        "EMBER_TEMPORAL_ADDRESS": address,
    }
    run = ("trigger", "run", "tickets", "escalate_urgent_now", str(ticket_id), "--tenant", "acme")
    async with running(build_helpdesk(name), dev_env, database_url):
        _, out, err = await cli(env, *run, "--wait")  # no actor: only admins may, by hand
    assert "discarded" in out and "Traceback" not in err, (out, err)
