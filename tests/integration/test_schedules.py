"""Schedule sync on the dev server: an upsert that respects operators."""

from __future__ import annotations

import asyncio
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import ScheduleActionStartWorkflow, ScheduleOverlapPolicy
from temporalio.testing import WorkflowEnvironment

from ember.registry import ActionContext, Domain, naming
from ember.workflows.schedule_sync import describe_schedules, list_schedule_ids, sync_schedules
from examples.helpdesk.models import Ticket
from tests.integration.support import add_tickets, running, ticket_values, unique_domain


async def escalate(ticket: Ticket, ctx: ActionContext) -> None:
    """The action every schedule test declares."""
    ticket.escalated = True


async def digest(ctx: ActionContext) -> None:
    """A generic action for a scheduled action."""


def declare(
    name: str, *, cron: str = "*/5 * * * *", timezone: str = "UTC", **states: str
) -> Domain:
    """Domain ``name`` with triggers a, b (and c unless removed) and a scheduled action."""
    domain = Domain(name)
    tickets = domain.resource(Ticket)
    tickets.action(escalate)
    tickets.action(digest)
    for trigger in ("a", "b", "c"):
        if states.get(trigger) != "removed":
            tickets.trigger(
                trigger,
                action=escalate,
                where=Ticket.escalated.is_(False),
                scheduler_cron=cron,
                state=states.get(trigger, "active"),
                timezone=timezone,
            )
    tickets.trigger("manual", action=escalate, scheduler_cron=None)
    tickets.schedule("digest", cron="@daily", action=digest, timezone=timezone)
    return domain


async def wait_listed(env: WorkflowEnvironment, domain: Domain, expected: set[str]) -> None:
    """Wait until the server's schedule listing (eventually consistent) shows ``expected``."""
    for _ in range(100):
        if set(await list_schedule_ids(env.client, domain)) == expected:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"listing never showed {sorted(expected)}")


async def test_sync_creates_one_schedule_per_active_trigger_and_scheduled_action(
    dev_env: WorkflowEnvironment,
) -> None:
    domain = declare(unique_domain().name)
    report = await sync_schedules(dev_env.client, domain)
    ids = {f"{naming.domain_prefix(domain.name)}tickets/{n}" for n in ("a", "b", "c", "digest")}
    assert set(report.created) == ids
    description = await dev_env.client.get_schedule_handle(sorted(ids)[0]).describe()
    assert description.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
    assert not description.schedule.state.paused
    action = description.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert action.workflow == naming.SCAN_WORKFLOW
    assert action.task_queue == f"{domain.name}.tickets"
    again = await sync_schedules(dev_env.client, domain)
    assert set(again.unchanged) == ids and not again.created and not again.updated


async def test_operator_pause_survives_an_unchanged_sync_but_not_a_changed_declaration(
    dev_env: WorkflowEnvironment,
) -> None:
    name = unique_domain().name
    await sync_schedules(dev_env.client, declare(name))
    schedule = dev_env.client.get_schedule_handle(f"ember/{name}/tickets/a")
    await schedule.pause(note="operator")
    await sync_schedules(dev_env.client, declare(name))
    assert (await schedule.describe()).schedule.state.paused
    report = await sync_schedules(dev_env.client, declare(name, cron="*/10 * * * *"))
    assert f"ember/{name}/tickets/a" in report.updated
    assert not (await schedule.describe()).schedule.state.paused


async def test_paused_deleted_and_removed_triggers(dev_env: WorkflowEnvironment) -> None:
    name = unique_domain().name
    prefix = f"ember/{name}/tickets/"
    await sync_schedules(dev_env.client, declare(name))
    await wait_listed(dev_env, declare(name), {prefix + n for n in ("a", "b", "c", "digest")})
    report = await sync_schedules(
        dev_env.client, declare(name, a="paused", b="deleted", c="removed")
    )
    assert (await dev_env.client.get_schedule_handle(prefix + "a").describe()).schedule.state.paused
    assert sorted(report.deleted) == [prefix + "b", prefix + "c"]
    await wait_listed(dev_env, declare(name), {prefix + "a", prefix + "digest"})


async def test_a_schedule_action_scans_and_runs_the_matching_records(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    ids = await add_tickets(engine, 3)
    domain = declare(unique_domain().name, b="removed", c="removed")
    async with running(domain, dev_env, database_url, sync=True):
        await dev_env.client.get_schedule_handle(f"ember/{domain.name}/tickets/a").trigger()
        for _ in range(100):
            if await ticket_values(engine, "escalated", ids) == [True] * 3:
                break
            await asyncio.sleep(0.1)
    assert await ticket_values(engine, "escalated", ids) == [True] * 3


async def test_a_declared_time_zone_is_the_schedules_and_changing_it_updates_the_schedule(
    dev_env: WorkflowEnvironment,
) -> None:
    name = unique_domain().name
    digest_id = f"ember/{name}/tickets/digest"
    await sync_schedules(dev_env.client, declare(name))
    report = await sync_schedules(dev_env.client, declare(name, timezone="Europe/Paris"))
    assert digest_id in report.updated and f"ember/{name}/tickets/a" in report.updated
    description = await dev_env.client.get_schedule_handle(digest_id).describe()
    assert description.schedule.spec.time_zone_name == "Europe/Paris"
    upcoming = description.info.next_action_times[0].astimezone(ZoneInfo("Europe/Paris"))
    assert (upcoming.hour, upcoming.minute) == (0, 0), "@daily is midnight in Paris"
    again = await sync_schedules(dev_env.client, declare(name, timezone="Europe/Paris"))
    assert digest_id in again.unchanged
    paris = declare(name, timezone="Europe/Paris")
    await wait_listed(
        dev_env, paris, {f"ember/{name}/tickets/{n}" for n in ("a", "b", "c", "digest")}
    )
    rows = await describe_schedules(dev_env.client, paris)
    assert [row.timezone for row in rows] == ["Europe/Paris"] * 4
