"""The helpdesk's own tests of its triggers, written as an application writes them.

Each test gets a fresh database and a worker for the helpdesk domain from the ``ember``
fixture; ``schedule_and_run_triggers`` is the ``drain_queue`` of Oban: run the scans now
and wait for every run they start.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from ember import Domain, TriggerClient, TriggerRunSummary
from examples.helpdesk.models import Organisation, Ticket, User

pytestmark = pytest.mark.asyncio

NOW = datetime.now(UTC)


@pytest.fixture
async def sessions(ember_database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the test's database."""
    engine = create_async_engine(ember_database_url)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


async def add_helpdesk_rows(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Two organisations, an agent, and tickets for every helpdesk trigger (and some not)."""
    async with sessions() as session, session.begin():
        session.add_all(
            [Organisation(slug="acme", name="Acme"), Organisation(slug="globex", name="Globex")]
        )
        await session.flush()
        session.add(User(id=1, organisation="acme", name="Agent", is_admin=False))
        stale = NOW - timedelta(hours=6)
        session.add_all(
            [
                Ticket(id=i, organisation="acme", subject="stale", updated_at=stale)
                for i in (1, 2, 3)
            ]
            + [
                Ticket(id=i, organisation="globex", subject="stale", updated_at=stale)
                for i in (4, 5)
            ]
            + [
                Ticket(id=6, organisation="acme", subject="fresh", updated_at=NOW),
                Ticket(
                    id=7,
                    organisation="globex",
                    subject="old news",
                    status="resolved",
                    updated_at=NOW - timedelta(days=8),
                ),
                Ticket(
                    id=8, organisation="acme", subject="on fire", priority="urgent", updated_at=NOW
                ),
            ]
        )


async def ticket(sessions: async_sessionmaker[AsyncSession], ticket_id: int) -> Ticket:
    async with sessions() as session:
        found = await session.scalar(select(Ticket).where(Ticket.id == ticket_id))
    assert found is not None
    return found


async def test_draining_the_helpdesk_runs_every_matching_ticket(
    ember: TriggerClient,
    helpdesk_domain: Domain,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await add_helpdesk_rows(sessions)

    summary = await ember.schedule_and_run_triggers(helpdesk_domain)

    # 5 stale tickets escalated, 1 resolved ticket closed; the urgent ticket waits for
    # escalate_urgent_now, which has no scheduler_cron: a domain drain leaves it out.
    assert summary == TriggerRunSummary(succeeded=6)
    assert (await ticket(sessions, 8)).escalated is False
    named = await ember.schedule_and_run_triggers([helpdesk_domain, "escalate_urgent_now"])
    assert named == TriggerRunSummary(succeeded=1), "named explicitly, it drains"
    for stale_id in (1, 2, 3, 4, 5, 8):
        escalated = await ticket(sessions, stale_id)
        assert (escalated.escalated, escalated.priority) == (True, "urgent")
    assert (await ticket(sessions, 6)).escalated is False
    assert (await ticket(sessions, 7)).status == "closed"


async def test_one_tenant_at_a_time(
    ember: TriggerClient,
    helpdesk_domain: Domain,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await add_helpdesk_rows(sessions)
    escalate_stale = helpdesk_domain.get_trigger("tickets", "escalate_stale")

    summary = await ember.schedule_and_run_triggers(escalate_stale, tenant="globex")

    assert summary == TriggerRunSummary(succeeded=2)
    assert [(await ticket(sessions, i)).escalated for i in (1, 4, 5)] == [False, True, True]


async def test_agents_may_not_escalate_by_hand(
    ember: TriggerClient,
    helpdesk_domain: Domain,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await add_helpdesk_rows(sessions)
    async with sessions() as session:
        agent = await session.get(User, 1)

    handle = await ember.run_trigger((Ticket, 8), "escalate_urgent_now", actor=agent, tenant="acme")
    outcome = await handle.result()

    assert (outcome.status, outcome.reason) == ("discarded", "forbidden")
    assert (await ticket(sessions, 8)).escalated is False
