"""A run started on one domain's task queue naming another domain's trigger is refused."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from ember.activities.dispatch import record_run
from ember.activities.run_results import RunHandle
from ember.activities.types import FOREIGN_DOMAIN_ERROR, Outcome
from ember.registry import naming
from tests.integration.support import add_tickets, escalating, running, ticket_values


async def test_a_worker_refuses_a_run_of_another_domain_without_retrying_it(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    ours, theirs = escalating(), escalating(max_attempts=5)
    assert ours.resource.domain.name != theirs.resource.domain.name
    run = record_run(
        theirs, None, str(ticket_id), source="direct", action_input=None, search_attributes=False
    )
    async with running(ours.resource.domain, dev_env, database_url):
        handle = await dev_env.client.start_workflow(
            naming.RECORD_WORKFLOW,
            run,
            id=f"forged-{theirs.workflow_id(None, str(ticket_id))}",
            task_queue=naming.task_queue(ours.domain_name, ours.queue),
            result_type=Outcome,
        )
        outcome = await RunHandle.of(dev_env.client, handle, Outcome).result()
    assert (outcome.status, outcome.attempts) == ("failed", 1), "not retried"
    assert outcome.error is not None and outcome.error.type == FOREIGN_DOMAIN_ERROR
    assert f"found {theirs.domain_name!r}" in outcome.error.message
    assert await ticket_values(engine, "escalated", [ticket_id]) == [False]
