"""The worker process: per-queue concurrency, SIGTERM draining in-flight actions, JSON logs."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from ember.registry import ActionContext
from ember.workflows.client import TriggerClient
from ember.workflows.connection import SearchAttributeError
from examples.helpdesk.models import Ticket
from tests.integration.apps import slow_app
from tests.integration.support import add_tickets, running, ticket_values, unique_domain

ROOT = Path(__file__).resolve().parents[2]


async def test_per_queue_concurrency_is_respected(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    await add_tickets(engine, 8)
    active = 0
    peak = 0
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action
    async def busy(ticket: Ticket, ctx: ActionContext) -> None:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.3)
        active -= 1

    trigger = tickets.trigger("busy", action=busy, scheduler_cron=None, queue="narrow")
    async with running(domain, dev_env, database_url, queues={"narrow": 2}) as ember:
        summary = await ember.schedule_and_run_triggers(trigger)
    assert summary.succeeded == 8
    assert peak == 2


async def test_sigterm_lets_in_flight_actions_finish_then_exits_zero_logging_json(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    domain_name = unique_domain().name
    env = {
        **os.environ,
        "EMBER_APP": "tests.integration.apps.slow_app:domain",
        "EMBER_TEST_DOMAIN": domain_name,
        "EMBER_TEST_ACTION_SECONDS": "3",
        "EMBER_LOG_JSON": "true",
        "EMBER_DATABASE_URL": database_url,
        "EMBER_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "PYTHONPATH": str(ROOT),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "worker.py"),
        "run",
        env=env,
        cwd=ROOT,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    logged = asyncio.ensure_future(process.stderr.read())
    try:
        slow_app.domain.name = domain_name
        ember = TriggerClient(dev_env.client, slow_app.domain)
        handle = await ember.run_trigger((Ticket, ticket_id), "slow")
        for _ in range(200):  # wait until the activity has started
            description = await handle.describe()
            if description.raw_description.pending_activities:
                break
            await asyncio.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 60)
    finally:
        if process.returncode is None:
            process.kill()
    assert code == 0
    ember_lines = [line for line in (await logged).decode().splitlines() if "ember:" in line]
    entries = [json.loads(line) for line in ember_lines]  # EMBER_LOG_JSON: one object a line
    assert any("draining" in entry["message"] for entry in entries), ember_lines
    assert all({"level", "logger", "message"} <= set(entry) for entry in entries)
    assert await ticket_values(engine, "escalated", [ticket_id]) == [True]
    async with running(slow_app.domain, dev_env, database_url):  # a new worker records it
        assert (await handle.result()).status == "succeeded"


async def test_a_server_that_refuses_search_attributes_gets_a_clear_error(
    test_env: WorkflowEnvironment, database_url: str
) -> None:
    domain = unique_domain()
    tickets = domain.resource(Ticket)
    tickets.action(slow_app.slow_escalate)
    tickets.trigger("slow", action=slow_app.slow_escalate, scheduler_cron=None)
    with pytest.raises(SearchAttributeError, match="temporal operator search-attribute create"):
        async with running(domain, test_env, database_url, search_attributes=True):
            pass
