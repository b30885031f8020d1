"""AshOban's ``build_trigger`` (``ember.build_run``) and ``schedule/3`` (actor and input)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.common import SearchAttributeKey
from temporalio.testing import WorkflowEnvironment

from ember.activities.types import ScheduledOutcome
from ember.registry import ActionContext, Domain, RowActorPersister, naming
from ember.workflows.client import TriggerClient
from examples.helpdesk.models import Ticket, User
from tests.integration.support import add_tickets, add_user, running, unique_domain
from tests.integration.waiting import workflow_status


class Digest(BaseModel):
    """Input of ``digest``."""

    period: str
    limit: int = 10


def reporting(seen: list[tuple[str, Any, Any]]) -> Domain:
    """``tickets.escalate`` (queue ``urgent``) and the scheduled action ``tickets.digest``."""
    domain = unique_domain()
    tickets = domain.resource(Ticket, actor_persister=RowActorPersister(User))

    @tickets.action
    async def escalate(ticket: Ticket, ctx: ActionContext) -> None:
        seen.append(("escalate", getattr(ctx.actor, "name", None), ticket.id))

    @tickets.action(input=Digest)
    async def digest(ctx: ActionContext) -> None:
        seen.append(("digest", getattr(ctx.actor, "name", None), ctx.input))

    tickets.trigger(
        "escalate", action=escalate, scheduler_cron="@daily", queue="urgent", worker_priority=0
    )
    tickets.schedule("digest", cron="@daily", action=digest, action_input={"period": "day"})
    return domain


async def test_ash_oban_build_trigger_returns_the_start_request_without_starting_it(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    who = await add_user(engine, 1, "Admin", is_admin=True)
    seen: list[tuple[str, Any, Any]] = []
    domain = reporting(seen)
    trigger = domain.get_trigger("tickets", "escalate")
    ember = TriggerClient(dev_env.client, domain, task_queue_prefix="staging")
    built = ember.build_run((Ticket, ticket_id), trigger, actor=who, input={"note": "vip"})
    assert built.workflow == naming.RECORD_WORKFLOW
    assert built.id == trigger.workflow_id(None, str(ticket_id), "staging", {"note": "vip"})
    assert built.task_queue == f"staging.{domain.name}.urgent"
    assert (built.input.record, built.input.tenant, built.input.source) == (
        str(ticket_id),
        None,
        "direct",
    )
    assert built.input.input == {"note": "vip"}
    assert built.memo["actor"]["ref"] == {"type": "users", "id": 1}
    assert built.search_attributes is not None
    record_key = SearchAttributeKey.for_keyword(naming.RECORD_ATTRIBUTE)
    assert built.search_attributes.get(record_key) == str(ticket_id)
    assert built.priority.priority_key == 1
    assert await workflow_status(dev_env.client, built.id) is None, "nothing was started"
    plain = ember.build_run((Ticket, ticket_id), trigger)
    assert plain.id == trigger.workflow_id(None, str(ticket_id), "staging") and plain.memo == {}
    with pytest.raises(TypeError, match="found User"):
        ember.build_run(who, trigger)
    async with running(domain, dev_env, database_url) as started:
        handle = await started.run_trigger((Ticket, ticket_id), trigger, actor=who)
        assert handle.id == started.build_run((Ticket, ticket_id), trigger).id
        await handle.result()
    assert seen == [("escalate", "Admin", ticket_id)]


async def test_ash_oban_schedule_takes_an_actor_and_input(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    ids = await add_tickets(engine, 2)
    who = await add_user(engine, 1, "Admin", is_admin=True)
    seen: list[tuple[str, Any, Any]] = []
    domain = reporting(seen)
    trigger = domain.get_trigger("tickets", "escalate")
    digest = domain.get_schedule("tickets", "digest")
    async with running(domain, dev_env, database_url) as ember:
        done: ScheduledOutcome = await (
            await ember.start_scan(digest, actor=who, input={"limit": 3})
        ).result()
        plain: ScheduledOutcome = await (await ember.start_scan(digest)).result()
        await (await ember.start_scan(trigger, actor=who)).result()
        for i in ids:  # the runs the scan started
            await ember.client.get_workflow_handle(trigger.workflow_id(None, str(i))).result()
        with pytest.raises(ValueError, match=r"input: expected none for trigger .*escalate"):
            await ember.start_scan(trigger, input={"limit": 3})
        with pytest.raises(ValueError, match="input: expected input accepted by digest's model"):
            await ember.start_scan(digest, input={"limit": "many"})
    assert done.outcomes["-"].status == plain.outcomes["-"].status == "succeeded"
    assert seen[:2] == [
        ("digest", "Admin", Digest(period="day", limit=3)),
        ("digest", None, Digest(period="day", limit=10)),
    ]
    assert sorted(seen[2:]) == [("escalate", "Admin", i) for i in ids]
