"""EMBER_TASK_QUEUE_PREFIX isolates: two environments on one namespace never meet."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import ScheduleActionStartWorkflow
from temporalio.testing import WorkflowEnvironment

from ember.registry import ActionContext, Domain, Trigger
from ember.workflows.schedule_sync import list_schedule_ids
from ember.workflows.status import trigger_status
from examples.helpdesk.models import Ticket
from tests.integration.support import add_tickets, running, unique_domain
from tests.integration.waiting import eventually

NEVER_SOON = "0 0 1 1 *"


def declare(name: str, crons: dict[str, str], seen: list[str] | None = None) -> Domain:
    """Domain ``name`` whose tickets have one scheduled trigger per entry of ``crons``."""
    domain = Domain(name)
    tickets = domain.resource(Ticket)

    @tickets.action
    async def touch(ticket: Ticket, ctx: ActionContext) -> None:
        if seen is not None:
            seen.append(f"{ctx.trigger} {ticket.id}")

    for trigger, cron in crons.items():
        tickets.trigger(trigger, action=touch, scheduler_cron=cron)
    return domain


async def schedule_of(env: WorkflowEnvironment, schedule_id: str) -> tuple[int, str]:
    """The day of January a schedule fires on, and its task queue, as the server has them."""
    description = await env.client.get_schedule_handle(schedule_id).describe()
    action = description.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    return description.schedule.spec.calendars[0].day_of_month[0].start, action.task_queue


async def test_schedule_sync_under_one_prefix_leaves_another_prefix_s_schedules_alone(
    dev_env: WorkflowEnvironment, database_url: str
) -> None:
    name = unique_domain().name
    blue = declare(name, {"a": NEVER_SOON, "b": NEVER_SOON})
    # The same domain deployed again under another prefix, one trigger fewer, another cron.
    green = declare(name, {"a": "0 0 2 1 *"})
    blue_a, blue_b = (t.schedule_id_for("blue") for t in blue.triggers)
    (green_a,) = (t.schedule_id_for("green") for t in green.triggers)
    try:
        async with running(blue, dev_env, database_url, sync=True, task_queue_prefix="blue"):
            pass
        async with running(green, dev_env, database_url, sync=True, task_queue_prefix="green"):
            pass
        assert await schedule_of(dev_env, blue_a) == (1, f"blue.{name}.tickets")
        assert await schedule_of(dev_env, blue_b) == (1, f"blue.{name}.tickets")
        assert await schedule_of(dev_env, green_a) == (2, f"green.{name}.tickets")
        assert len({blue_a, blue_b, green_a}) == 3

        async def listed_apart() -> bool:
            return (
                sorted(await list_schedule_ids(dev_env.client, blue, "blue")) == [blue_a, blue_b]
                and await list_schedule_ids(dev_env.client, green, "green") == [green_a]
                and await list_schedule_ids(dev_env.client, blue) == []
            )

        await eventually(listed_apart, what="each prefix listing only its own schedules")
    finally:
        for schedule_id in (blue_a, blue_b, green_a):
            await dev_env.client.get_schedule_handle(schedule_id).delete()


async def status_counts(
    env: WorkflowEnvironment, engine: AsyncEngine, trigger: Trigger, prefix: str
) -> tuple[int, int]:
    """(running, succeeded) of ``trigger`` as ``status`` shows it under ``prefix``."""
    status = await trigger_status(env.client, engine, trigger, prefix)
    return status.running, status.outcomes["succeeded"]


async def test_the_same_record_runs_once_per_prefix_and_status_shows_each_its_own(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    first, second = await add_tickets(engine, 2)
    seen: list[str] = []
    domain = declare(unique_domain().name, {"touch": NEVER_SOON}, seen)
    (trigger,) = domain.triggers
    async with (
        running(domain, dev_env, database_url, task_queue_prefix="blue") as blue,
        running(domain, dev_env, database_url, task_queue_prefix="green") as green,
    ):
        blue_run = await blue.run_trigger((Ticket, first), trigger)
        green_run = await green.run_trigger((Ticket, first), trigger)
        outcomes = [(await blue_run.result()).status, (await green_run.result()).status]
        drained = await green.schedule_and_run_triggers(trigger)
        queues = [(await h.describe()).task_queue for h in (blue_run, green_run)]

        async def counted_apart() -> bool:
            return [
                await status_counts(dev_env, engine, trigger, p) for p in ("blue", "green", "")
            ] == [
                (0, 1),
                (0, 3),
                (0, 0),
            ]

        await eventually(counted_apart, what="status counting each prefix's runs only")
    assert blue_run.id == trigger.workflow_id(None, str(first), "blue")
    assert green_run.id == trigger.workflow_id(None, str(first), "green")
    assert blue_run.id != green_run.id, "two workflows, not one joined by the other"
    assert outcomes == ["succeeded", "succeeded"]
    assert queues == [f"blue.{domain.name}.tickets", f"green.{domain.name}.tickets"]
    assert (drained.succeeded, drained.total) == (2, 2), "green's drain ran green's runs only"
    assert sorted(seen) == sorted([f"touch {first}"] * 3 + [f"touch {second}"])
