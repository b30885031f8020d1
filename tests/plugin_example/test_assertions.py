"""The plugin's Oban-style assertions, used as an application would after a drain."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ember import Domain, TriggerClient
from ember.testing import (
    assert_triggered,
    assert_would_schedule,
    refute_would_schedule,
)
from examples.helpdesk.models import Organisation, Ticket

pytestmark = pytest.mark.asyncio

NOW = datetime.now(UTC)


@pytest.fixture
async def engine(ember_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(ember_database_url)
    async with engine.begin() as connection:
        await connection.execute(insert(Organisation), [{"slug": "acme", "name": "A"}])
        await connection.execute(
            insert(Ticket),
            [
                {
                    "id": 1,
                    "organisation": "acme",
                    "subject": "stale",
                    "updated_at": NOW - timedelta(hours=6),
                },
                {"id": 2, "organisation": "acme", "subject": "fresh", "updated_at": NOW},
            ],
        )
    yield engine
    await engine.dispose()


async def test_would_schedule_asks_the_database_without_running_anything(
    ember: TriggerClient, helpdesk_domain: Domain, engine: AsyncEngine
) -> None:
    stale = helpdesk_domain.get_trigger("tickets", "escalate_stale")
    await assert_would_schedule(engine, stale, (Ticket, 1), tenant="acme")
    await refute_would_schedule(engine, stale, (Ticket, 2), tenant="acme")
    with pytest.raises(AssertionError, match="found it does not match"):
        await assert_would_schedule(engine, stale, (Ticket, 2), tenant="acme")
    with pytest.raises(AssertionError, match="found it matches now"):
        await refute_would_schedule(engine, stale, (Ticket, 1), tenant="acme")
    with pytest.raises(AssertionError, match="found none"):  # nothing was started
        await assert_triggered(ember, stale, (Ticket, 1), tenant="acme")


async def test_assert_triggered_checks_the_outcome_of_the_drained_run(
    ember: TriggerClient, helpdesk_domain: Domain, engine: AsyncEngine
) -> None:
    stale = helpdesk_domain.get_trigger("tickets", "escalate_stale")
    await ember.schedule_and_run_triggers(stale)
    outcome = await assert_triggered(ember, stale, (Ticket, 1), tenant="acme", outcome="succeeded")
    assert outcome.attempts == 1
    with pytest.raises(AssertionError, match="to end failed, found succeeded"):
        await assert_triggered(ember, stale, (Ticket, 1), tenant="acme", outcome="failed")
    with pytest.raises(AssertionError, match="found none"):  # never matched, never ran
        await assert_triggered(ember, stale, (Ticket, 2), tenant="acme")
    await refute_would_schedule(engine, stale, (Ticket, 1), tenant="acme")  # escalated now
