"""Ember's metrics are exported on the Prometheus endpoint of EMBER_METRICS_BIND."""

from __future__ import annotations

import asyncio
import urllib.request

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from temporalio.testing import WorkflowEnvironment

from ember.activities.metrics import (
    OUTBOX_LAG,
    RECORDS_SCANNED,
    RUNS,
    SCAN_PAGE_DURATION,
    SCAN_TO_START,
)
from ember.registry import ActionContext, enqueue_trigger
from ember.workflows.client import TriggerClient
from ember.workflows.connection import connect
from ember.workflows.settings import Settings
from ember.workflows.testing.devstack import free_port
from ember.workflows.worker import EmberWorker
from examples.helpdesk.models import Ticket
from tests.integration.support import add_tickets, unique_domain
from tests.integration.waiting import eventually, outbox_rows


async def test_runs_and_scans_are_counted_on_the_prometheus_endpoint(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    *_, enqueued = await add_tickets(engine, 4)
    domain = unique_domain()
    tickets = domain.resource(Ticket)

    @tickets.action
    async def escalate(ticket: Ticket, ctx: ActionContext) -> None:
        ticket.escalated = True

    trigger = tickets.trigger("metered", action=escalate, scheduler_cron=None)
    bind = f"127.0.0.1:{free_port()}"
    client = await connect(dev_env.client.service_client.config.target_host, metrics_bind=bind)
    settings = Settings(database_url=database_url, queues={"tickets": 4}, metrics_bind=bind)
    async with EmberWorker(domain, settings, client=client, sync=False):
        summary = await TriggerClient(client, domain).schedule_and_run_triggers(trigger)
        async with AsyncSession(engine) as session, session.begin():
            await enqueue_trigger(session, (Ticket, enqueued), trigger)

        async def delivered() -> bool:
            return await outbox_rows(engine) == 0

        await eventually(delivered, what="the outbox row delivered")
        await asyncio.sleep(1.5)  # the exporter publishes on an interval
        page = await asyncio.to_thread(
            lambda: urllib.request.urlopen(f"http://{bind}/metrics", timeout=5).read().decode()
        )
    assert summary.succeeded == 4
    runs = [line for line in page.splitlines() if line.startswith("ember_runs")]
    assert any('outcome="succeeded"' in line and 'trigger="metered"' in line for line in runs)
    names = {line.split("{")[0].split(" ")[0] for line in page.splitlines() if line[:1] != "#"}
    for metric in (RUNS, RECORDS_SCANNED, SCAN_PAGE_DURATION, SCAN_TO_START, OUTBOX_LAG):
        assert any(name.startswith(metric) for name in names), f"{metric} not in {names}"
