"""Retries, backoff, snooze, cancel, discard and on_error, on the time-skipping server.

Each test runs twice: the action as an activity, and as a local activity.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from ember.activities.types import Outcome
from ember.registry import ActionContext, Cancel, Discard, Domain, Snooze, Trigger
from examples.helpdesk.models import Ticket
from tests.integration.support import add_tickets, running, ticket_values, unique_domain


@pytest.fixture(params=[False, True], ids=["activity", "local_activity"])
def local_activity(request: pytest.FixtureRequest) -> bool:
    """Every test here runs with the action as an activity and as a local activity."""
    return bool(request.param)


@dataclass
class Script:
    """What the action does on each attempt, and what it saw."""

    steps: list[str]
    attempts: list[tuple[int, bool]] = field(default_factory=list)
    on_error_calls: list[tuple[str, int]] = field(default_factory=list)
    fail_on_error: bool = False


def scripted(script: Script, **options: object) -> tuple[Domain, Trigger]:
    """A trigger whose action follows ``script.steps``: ok, fail, snooze, cancel, discard.

    ``snooze nan`` / ``snooze inf`` raise ``Snooze`` with that duration.
    """
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action
    async def act(ticket: Ticket, ctx: ActionContext) -> Snooze | None:
        script.attempts.append((ctx.attempt, ctx.last_attempt))
        step = script.steps.pop(0) if script.steps else "ok"
        if step == "fail":
            raise ValueError(f"failure on attempt {ctx.attempt}")
        if step == "snooze":
            return Snooze(30)
        if step in ("snooze nan", "snooze inf"):
            raise Snooze(float(step.split()[1]))
        if step == "cancel":
            raise Cancel("not today")
        if step == "discard":
            raise Discard("never")
        ticket.subject = "done"
        return None

    @tickets.action
    async def compensate(ticket: Ticket, ctx: ActionContext) -> None:
        assert ctx.error is not None
        script.on_error_calls.append((ctx.error.message, ctx.error.attempt))
        if script.fail_on_error:
            raise RuntimeError("compensation broke")
        ticket.last_error = ctx.error.message

    options.setdefault("backoff", timedelta(seconds=5))
    trigger = tickets.trigger("scripted", action=act, scheduler_cron=None, **options)
    return domain, trigger


async def run_one(
    env: WorkflowEnvironment,
    database_url: str,
    engine: AsyncEngine,
    domain: Domain,
    trigger: Trigger,
) -> tuple[int, Outcome]:
    (ticket_id,) = await add_tickets(engine, 1)
    async with running(domain, env, database_url, search_attributes=False) as ember:
        outcome = await (await ember.run_trigger((Ticket, ticket_id), trigger)).result()
    return ticket_id, outcome


async def test_retries_to_max_attempts_and_on_error_runs_only_after_the_last(
    test_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine, local_activity: bool
) -> None:
    script = Script(["fail", "fail", "fail"])
    domain, trigger = scripted(
        script, local_activity=local_activity, max_attempts=3, on_error="compensate"
    )
    ticket_id, outcome = await run_one(test_env, database_url, engine, domain, trigger)
    assert script.attempts == [(1, False), (2, False), (3, True)]
    assert script.on_error_calls == [("failure on attempt 3", 3)]
    assert outcome.status == "errored_handled"
    assert await ticket_values(engine, "last_error", [ticket_id]) == ["failure on attempt 3"]


async def test_success_on_a_retry_skips_on_error(
    test_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine, local_activity: bool
) -> None:
    script = Script(["fail"])
    domain, trigger = scripted(
        script, local_activity=local_activity, max_attempts=3, on_error="compensate"
    )
    _, outcome = await run_one(test_env, database_url, engine, domain, trigger)
    assert (outcome.status, outcome.attempts) == ("succeeded", 2)
    assert script.on_error_calls == []


async def test_on_error_failing_ends_discarded_with_the_original_error(
    test_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine, local_activity: bool
) -> None:
    script = Script(["fail", "fail"], fail_on_error=True)
    domain, trigger = scripted(
        script, local_activity=local_activity, max_attempts=2, on_error="compensate"
    )
    _, outcome = await run_one(test_env, database_url, engine, domain, trigger)
    assert outcome.status == "discarded"
    assert outcome.error is not None and outcome.error.message == "failure on attempt 2"
    assert outcome.reason == "on_error_failed"


async def test_without_on_error_the_run_ends_failed(
    test_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine, local_activity: bool
) -> None:
    script = Script(["fail", "fail"])
    domain, trigger = scripted(script, local_activity=local_activity, max_attempts=2)
    _, outcome = await run_one(test_env, database_url, engine, domain, trigger)
    assert (outcome.status, outcome.attempts) == ("failed", 2)
    assert outcome.error is not None and outcome.error.type == "ValueError"


async def test_on_error_fails_job_reports_failed_after_compensating(
    test_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine, local_activity: bool
) -> None:
    script = Script(["fail"])
    domain, trigger = scripted(
        script,
        local_activity=local_activity,
        max_attempts=1,
        on_error="compensate",
        on_error_fails_job=True,
    )
    ticket_id, outcome = await run_one(test_env, database_url, engine, domain, trigger)
    assert outcome.status == "failed"
    assert script.on_error_calls == [("failure on attempt 1", 1)]
    assert await ticket_values(engine, "last_error", [ticket_id]) == ["failure on attempt 1"]


async def test_snooze_does_not_use_an_attempt(
    test_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine, local_activity: bool
) -> None:
    script = Script(["fail", "snooze", "snooze", "ok"])
    domain, trigger = scripted(script, local_activity=local_activity, max_attempts=2)
    _, outcome = await run_one(test_env, database_url, engine, domain, trigger)
    assert script.attempts == [(1, False), (2, True), (2, True), (2, True)]
    assert (outcome.status, outcome.attempts) == ("succeeded", 2)


@pytest.mark.parametrize("step", ["snooze nan", "snooze inf"])
async def test_a_snooze_for_no_finite_time_fails_the_attempt_as_the_actions_error(
    test_env: WorkflowEnvironment,
    database_url: str,
    engine: AsyncEngine,
    local_activity: bool,
    step: str,
) -> None:
    script = Script([step, step])
    domain, trigger = scripted(script, local_activity=local_activity, max_attempts=2)
    (ticket_id,) = await add_tickets(engine, 1)
    async with running(domain, test_env, database_url, search_attributes=False) as ember:
        handle = await ember.run_trigger((Ticket, ticket_id), trigger)
        outcome = await asyncio.wait_for(handle.result(), 60)  # a wedged workflow never ends
    assert (outcome.status, outcome.attempts) == ("failed", 2)
    assert script.attempts == [(1, False), (2, True)], "each bad snooze used an attempt"
    assert outcome.error is not None and outcome.error.type == "InvalidArgument"  # a ValueError
    assert outcome.error.message.startswith("Snooze expects a finite duration from 0 to ")
    assert await ticket_values(engine, "subject", [ticket_id]) == [f"ticket {ticket_id}"]


async def test_cancel_ends_cancelled_without_retry_or_on_error(
    test_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine, local_activity: bool
) -> None:
    script = Script(["cancel"])
    domain, trigger = scripted(
        script, local_activity=local_activity, max_attempts=3, on_error="compensate"
    )
    ticket_id, outcome = await run_one(test_env, database_url, engine, domain, trigger)
    assert (outcome.status, outcome.reason) == ("cancelled", "not today")
    assert len(script.attempts) == 1 and script.on_error_calls == []
    assert await ticket_values(engine, "subject", [ticket_id]) == [f"ticket {ticket_id}"]


async def test_discard_ends_at_once_and_runs_on_error(
    test_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine, local_activity: bool
) -> None:
    script = Script(["discard"])
    domain, trigger = scripted(
        script, local_activity=local_activity, max_attempts=3, on_error="compensate"
    )
    _, outcome = await run_one(test_env, database_url, engine, domain, trigger)
    assert (outcome.status, outcome.reason) == ("discarded", "never")
    assert len(script.attempts) == 1
    assert script.on_error_calls == [("never", 1)]


async def test_log_errors_off_still_logs_the_final_failure(
    test_env: WorkflowEnvironment,
    database_url: str,
    engine: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
    local_activity: bool,
) -> None:
    script = Script(["fail", "fail", "fail"])
    domain, trigger = scripted(
        script, local_activity=local_activity, max_attempts=3, log_errors=False
    )
    with caplog.at_level(logging.WARNING, logger="ember.activities"):
        await run_one(test_env, database_url, engine, domain, trigger)
    failures = [r.getMessage() for r in caplog.records if r.name == "ember.activities"]
    assert len(failures) == 1 and "attempt 3 of 3" in failures[0]


async def test_log_errors_on_logs_every_failed_attempt(
    test_env: WorkflowEnvironment,
    database_url: str,
    engine: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
    local_activity: bool,
) -> None:
    script = Script(["fail", "fail"])
    domain, trigger = scripted(
        script, local_activity=local_activity, max_attempts=2, log_final_error=False
    )
    with caplog.at_level(logging.WARNING, logger="ember.activities"):
        await run_one(test_env, database_url, engine, domain, trigger)
    failures = [r.getMessage() for r in caplog.records if r.name == "ember.activities"]
    assert [("attempt 1" in f, "attempt 2" in f) for f in failures] == [
        (True, False),
        (False, True),
    ]
