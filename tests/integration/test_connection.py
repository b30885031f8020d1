"""TriggerClient.connect against a real server: plain, and with TLS or an API key."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from ember.workflows.client import TriggerClient
from ember.workflows.connection import TemporalUnreachable
from ember.workflows.testing.devstack import free_port
from examples.helpdesk.models import Ticket
from tests.integration.support import add_tickets, escalating, running, ticket_values


async def test_a_connected_client_runs_a_trigger(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    (ticket_id,) = await add_tickets(engine, 1)
    trigger = escalating()
    address = dev_env.client.service_client.config.target_host
    async with running(trigger.resource.domain, dev_env, database_url):
        ember = await TriggerClient.connect(trigger.resource.domain, address)
        outcome = await (await ember.run_trigger((Ticket, ticket_id), trigger)).result()
    assert outcome.status == "succeeded"
    assert await ticket_values(engine, "escalated", [ticket_id]) == [True]


async def test_tls_is_used_when_asked_for_or_implied_by_an_api_key(
    dev_env: WorkflowEnvironment,
) -> None:
    domain = escalating().resource.domain
    address = dev_env.client.service_client.config.target_host  # serves plain text only
    for options in ({"tls": True}, {"api_key": "secret"}):
        with pytest.raises(TemporalUnreachable, match=f"expected a Temporal frontend at {address}"):
            await TriggerClient.connect(domain, address, **options)
    # The same API key without TLS reaches it (the dev server does not check keys).
    ember = await TriggerClient.connect(domain, address, api_key="secret", tls=False)
    assert await ember.client.service_client.check_health()


async def test_nothing_listening_is_a_one_line_error_naming_the_address() -> None:
    address = f"127.0.0.1:{free_port()}"
    with pytest.raises(TemporalUnreachable, match="connection refused"):
        await TriggerClient.connect(escalating().resource.domain, address)
