"""AshOban's trigger options Ember lacked: extra_args, tags, generic actions, per-trigger
actors, and backoff and timeout as functions of the attempt."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from ember.registry import ActionContext, ActorRef, Domain, RowActorPersister, naming
from ember.registry.naming import visibility_literal
from examples.helpdesk.models import Ticket, User
from tests.integration.support import add_tickets, running, ticket_values, unique_domain
from tests.integration.waiting import eventually


async def test_extra_args_reach_every_run_as_ctx_extra_as_ashobans_extra_args(
    test_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    await add_tickets(engine, 2)
    seen: list[tuple[str | None, int, dict[str, Any]]] = []
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action
    async def note(ticket: Ticket, ctx: ActionContext) -> None:
        seen.append((ctx.trigger, ticket.id, ctx.extra))

    fixed = tickets.trigger(
        "fixed", action=note, scheduler_cron=None, extra_args={"channel": "email"}
    )
    per_record = tickets.trigger(
        "per_record",
        action=note,
        scheduler_cron=None,
        extra_args=lambda ticket: {"subject": ticket.subject},
    )
    async with running(domain, test_env, database_url, search_attributes=False) as ember:
        for trigger in (fixed, per_record):
            for handle in await ember.run_triggers([(Ticket, 1), (Ticket, 2)], trigger):
                assert (await handle.result()).status == "succeeded"
    assert sorted(seen, key=lambda s: (s[0] or "", s[1])) == [
        ("fixed", 1, {"channel": "email"}),
        ("fixed", 2, {"channel": "email"}),
        ("per_record", 1, {"subject": "ticket 1"}),
        ("per_record", 2, {"subject": "ticket 2"}),
    ]


async def test_a_generic_action_trigger_runs_once_per_matching_record_given_its_key(
    test_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    await add_tickets(engine, 3)
    await add_tickets(engine, 1, first_id=9, escalated=True)
    keys: list[Any] = []
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action
    async def escalate_by_key(ctx: ActionContext) -> None:
        keys.append(ctx.record_key)
        await ctx.session.execute(
            update(Ticket).where(Ticket.id == ctx.record_key).values(escalated=True)
        )

    trigger = tickets.trigger(
        "escalate",
        action=escalate_by_key,
        where=Ticket.escalated.is_(False),
        scheduler_cron=None,
    )
    async with running(domain, test_env, database_url, search_attributes=False) as ember:
        summary = await ember.schedule_and_run_triggers(trigger)
        again = await (await ember.run_trigger((Ticket, 1), trigger)).result()
    assert summary.succeeded == 3 and summary.total == 3
    assert sorted(keys) == [1, 2, 3], "once per matching record, its key an int as the column"
    assert (again.status, again.reason) == ("cancelled", "trigger_no_longer_applies")
    assert await ticket_values(engine, "escalated", [1, 2, 3, 9]) == [True] * 4


async def test_tags_make_runs_findable_by_ember_tags_as_obans_job_tags(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    await add_tickets(engine, 3)
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action
    async def note(ticket: Ticket, ctx: ActionContext) -> None:
        pass

    tagged = tickets.trigger("tagged", action=note, scheduler_cron=None, tags=["billing", "vip"])
    plain = tickets.trigger("plain", action=note, scheduler_cron=None)
    client = dev_env.client
    async with running(domain, dev_env, database_url) as ember:
        handles = await ember.run_triggers([(Ticket, 1), (Ticket, 2)], tagged)
        handles += await ember.run_triggers([(Ticket, 3)], plain)
        for handle in handles:
            assert (await handle.result()).status == "succeeded"
        mine = f"WorkflowId STARTS_WITH {visibility_literal(naming.domain_prefix(domain.name))}"

        async def count(query: str) -> int:
            return (await client.count_workflows(f"{query} AND {mine}")).count

        async def found_by_tag() -> bool:
            return await count("EmberTags = 'vip'") == 2

        await eventually(found_by_tag, what="the two runs of the tagged trigger found by tag")
        assert await count("EmberTags = 'billing'") == 2
        assert await count("ExecutionStatus = 'Completed'") == 3, "the untagged run is not"
        described = await handles[0].describe()
    assert described.search_attributes[naming.TAGS_ATTRIBUTE] == ["billing", "vip"]


class Forgetful:
    """A persister whose lookup finds nobody (returns None): the default actor stands in."""

    def store(self, actor: Any) -> ActorRef:
        return {"name": str(actor)}

    async def lookup(self, ref: ActorRef, session: AsyncSession) -> Any:
        return None


async def test_triggers_and_schedules_have_their_own_actor_persister_and_default_actor(
    test_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    await add_tickets(engine, 1)
    async with engine.begin() as connection:
        await connection.execute(insert(User).values(id=7, organisation="acme", name="Ada"))
    async with AsyncSession(engine, expire_on_commit=False) as session:
        ada = await session.get(User, 7)
    seen: dict[str | None, list[Any]] = {}
    domain = Domain(unique_domain().name, default_actor="domain default")
    tickets = domain.resource(Ticket)  # no persister of its own

    def remember(ctx: ActionContext) -> None:
        actor = ctx.actor
        seen.setdefault(ctx.trigger, []).append(actor.name if isinstance(actor, User) else actor)

    @tickets.action
    async def note(ticket: Ticket, ctx: ActionContext) -> None:
        remember(ctx)

    @tickets.action
    async def report(ctx: ActionContext) -> None:
        remember(ctx)

    own = tickets.trigger(
        "own",
        action=note,
        scheduler_cron=None,
        actor_persister=RowActorPersister(User),
        default_actor="trigger default",
    )
    inherited = tickets.trigger("inherited", action=note, scheduler_cron=None)
    forgetful = tickets.trigger(
        "forgetful",
        action=note,
        scheduler_cron=None,
        actor_persister=Forgetful(),
        default_actor="fallback",
    )
    scheduled = tickets.schedule(
        "report", cron="@daily", action=report, default_actor="schedule default"
    )
    async with running(domain, test_env, database_url, search_attributes=False) as ember:
        for trigger, actor in ((own, ada), (own, None), (inherited, None), (forgetful, "x")):
            await (await ember.run_trigger((Ticket, 1), trigger, actor=actor)).result()
        await (await ember.start_scan(scheduled)).result()
        try:
            await ember.run_trigger((Ticket, 1), inherited, actor=ada)
        except TypeError as refused:
            message = str(refused)
    assert seen == {
        "own": ["Ada", "trigger default"],
        "inherited": ["domain default"],
        "forgetful": ["fallback"],
        "report": ["schedule default"],
    }
    assert message.startswith(
        f"actor: expected {inherited.path} or its resource to have an actor_persister"
    )


async def test_backoff_as_a_function_of_the_attempt_spaces_each_retry_as_ashobans_backoff(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    await add_tickets(engine, 2)
    asked: list[int] = []
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    def backoff(failed: int) -> timedelta:
        asked.append(failed)
        return timedelta(milliseconds=50) if failed == 1 else timedelta(hours=2)

    @tickets.action
    async def fail(ticket: Ticket, ctx: ActionContext) -> None:
        raise RuntimeError(f"attempt {ctx.attempt} failed")

    trigger = tickets.trigger(
        "fail", action=fail, scheduler_cron=None, max_attempts=3, backoff=backoff
    )
    local = tickets.trigger(
        "local",
        action=fail,
        scheduler_cron=None,
        max_attempts=3,
        backoff=backoff,
        local_activity=True,
    )
    chunked = tickets.trigger(
        "chunked", action=fail, scheduler_cron=None, max_attempts=3, backoff=backoff, chunk_size=2
    )
    async with running(domain, dev_env, database_url) as ember:
        handle = await ember.run_trigger((Ticket, 1), trigger)
        # The workflow waits between attempts: after attempt 2, the function's 2 h (the
        # default Backoff would wait 30 s).
        await eventually(lambda: waits_long(handle), what="the timer before attempt 3")
        local_handle = await ember.run_trigger((Ticket, 2), local)

        await eventually(lambda: waits_long(local_handle), what="the local activity's timer")
        chunks = await ember.start_scan(chunked)
        await chunks.result()
        chunk = ember.client.get_workflow_handle(
            naming.chunk_workflow_id(domain.name, "tickets", "chunked", None, "1", "2")
        )
        await eventually(lambda: waits_long(chunk), what="the chunk's timer before attempt 3")
        for running_handle in (handle, local_handle, chunk):
            await running_handle.terminate()
    assert set(asked) == {1, 2}, "asked after attempts 1 and 2 only"


async def waits_long(handle: WorkflowHandle[Any, Any]) -> bool:
    """Whether the run has started a timer of more than an hour (a retry's wait)."""
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
            timeout = event.timer_started_event_attributes.start_to_fire_timeout
            if timeout.ToTimedelta() > timedelta(hours=1):
                return True
    return False


async def test_timeout_as_a_function_of_the_attempt_gives_each_attempt_its_own_limit(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    await add_tickets(engine, 2)
    attempts: list[tuple[str | None, int]] = []
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    async def take_a_second(ctx: ActionContext) -> None:
        attempts.append((ctx.trigger, ctx.attempt))
        await asyncio.sleep(1.0)

    @tickets.action
    async def slow(ticket: Ticket, ctx: ActionContext) -> None:
        await take_a_second(ctx)
        ticket.escalated = True

    @tickets.action
    async def slow_report(ctx: ActionContext) -> None:
        await take_a_second(ctx)

    pacing: dict[str, Any] = {
        "max_attempts": 2,
        "backoff": timedelta(milliseconds=50),
        "timeout": lambda attempt: timedelta(seconds=0.2 if attempt == 1 else 30),
    }
    trigger = tickets.trigger("slow", action=slow, scheduler_cron=None, **pacing)
    chunked = tickets.trigger("chunked", action=slow, scheduler_cron=None, chunk_size=2, **pacing)
    scheduled = tickets.schedule("report", cron="@daily", action=slow_report, **pacing)
    async with running(domain, dev_env, database_url) as ember:
        outcome = await (await ember.run_trigger((Ticket, 1), trigger)).result()
        drained = await ember.schedule_and_run_triggers(chunked)
        reported = await (await ember.start_scan(scheduled)).result()
    assert (outcome.status, outcome.attempts) == ("succeeded", 2)
    assert drained.succeeded == 2 and drained.total == 2
    assert reported.outcomes["-"].status == "succeeded"
    assert reported.outcomes["-"].attempts == 2
    # Each first attempt ran out of its 0.2 s; each second one had 30 s.
    assert sorted(attempts) == sorted(
        [("slow", 1), ("slow", 2), ("report", 1), ("report", 2)]
        + [("chunked", 1), ("chunked", 2)] * 2
    )
    assert await ticket_values(engine, "escalated", [1, 2]) == [True, True]
