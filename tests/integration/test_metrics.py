"""Ember's metrics are exported on the Prometheus endpoint of EMBER_METRICS_BIND."""

from __future__ import annotations

import asyncio
import urllib.request

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from examples.helpdesk.models import Ticket
from registry import ActionContext
from tests.integration.support import add_tickets, unique_domain
from worker import EmberWorker
from workflows.client import TriggerClient
from workflows.connection import connect
from workflows.devstack import free_port
from workflows.settings import Settings


async def test_runs_and_scans_are_counted_on_the_prometheus_endpoint(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    await add_tickets(engine, 4)
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
        await asyncio.sleep(1.5)  # the exporter publishes on an interval
        page = await asyncio.to_thread(
            lambda: urllib.request.urlopen(f"http://{bind}/metrics", timeout=5).read().decode()
        )
    assert summary.succeeded == 4
    runs = [line for line in page.splitlines() if line.startswith("ember_runs")]
    assert any('outcome="succeeded"' in line and 'trigger="metered"' in line for line in runs)
    assert any(line.startswith("ember_records_scanned") for line in page.splitlines())
    assert "ember_scan_to_start_latency" in page
