"""Scans and scheduled actions past Temporal's limits: oversized run ids, very many tenants."""

from __future__ import annotations

import pytest
from sqlalchemy import Text, false, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from ember.activities.run_ids import RunIdTooLong
from ember.activities.scan_types import ScanSummary
from ember.activities.types import ScheduledOutcome
from ember.registry import ActionContext, Domain, Trigger, naming
from examples.helpdesk.models import Ticket
from tests.integration.support import add_tickets, running, unique_domain


class Base(DeclarativeBase):
    """Declarative base of this module's table."""


class Label(Base):
    """A row keyed by text of any length."""

    __tablename__ = "labels"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    done: Mapped[bool] = mapped_column(server_default=false())


TOO_LONG = "m" * 1200  # its run id is over Temporal's 1000-byte id limit
HALF = "p" * 600  # its run id fits; a chunk id, holding it twice, does not
SHORT = ["a1", "a2", "a3", "x1", "x2", "x3"]


async def add_labels(engine: AsyncEngine, keys: list[str]) -> None:
    """Create ``labels`` and insert one row per key."""
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
        await connection.execute(insert(Label), [{"key": key} for key in keys])


def marking(**options: object) -> tuple[Domain, Trigger]:
    """A trigger marking every label not yet done."""
    domain = unique_domain()
    labels = domain.resource(Label)

    @labels.action
    async def mark(label: Label, ctx: ActionContext) -> None:
        label.done = True

    trigger = labels.trigger(
        "mark", action=mark, where=Label.done.is_(False), scheduler_cron=None, **options
    )
    return domain, trigger


async def undone(engine: AsyncEngine) -> list[str]:
    """Keys of the labels not marked."""
    async with engine.connect() as connection:
        return list(await connection.scalars(select(Label.key).where(Label.done.is_(False))))


@pytest.mark.parametrize("chunk_size", [None, 2])
async def test_a_row_whose_run_id_is_too_long_is_skipped_and_counted_and_the_page_goes_on(
    dev_env: WorkflowEnvironment,
    database_url: str,
    engine: AsyncEngine,
    chunk_size: int | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await add_labels(engine, [*SHORT, TOO_LONG, HALF])  # pages: a1 a2 a3 | m.. p.. x1 | x2 x3
    domain, trigger = marking(stream_batch_size=3, chunk_size=chunk_size)
    async with running(domain, dev_env, database_url) as ember:
        drained = await ember.schedule_and_run_triggers(trigger)
        again: ScanSummary = await (await ember.start_scan(trigger)).result()
    assert await undone(engine) == [TOO_LONG], "every other row of the page and after it ran"
    assert (drained.succeeded, drained.skipped, drained.total) == (7, 1, 7)
    assert (again.dispatched, again.skipped) == (0, 1)
    skips = [r.getMessage() for r in caplog.records if "skipped a row" in r.getMessage()]
    assert len(skips) == 2 and "(1200 characters)" in skips[0] and "fix:" in skips[0]


async def test_run_trigger_for_a_key_too_long_for_a_run_id_says_so_before_starting(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    await add_labels(engine, ["a1", TOO_LONG])
    domain, trigger = marking()
    async with running(domain, dev_env, database_url) as ember:
        with pytest.raises(RunIdTooLong) as raised:
            await ember.run_trigger((Label, TOO_LONG), trigger)
        with pytest.raises(ValueError, match="no run can start"):
            await ember.run_triggers([(Label, "a1"), (Label, TOO_LONG)], trigger)
    message = str(raised.value)
    assert f"at most {naming.MAX_ID_BYTES} bytes" in message and "found 1" in message
    assert "shorter primary key" in message
    assert await undone(engine) == ["a1", TOO_LONG], "nothing started, not even a1"


TENANTS = [f"customer-organisation-{i:06d}" for i in range(80_000)]  # ~2.5 MB of names
WITH_ROWS = {TENANTS[7]: 2, TENANTS[41_000]: 1, TENANTS[-1]: 3}


def all_tenants() -> list[str]:
    """The 80,000 tenants, reversed: pages come in name order whatever the list's order."""
    return TENANTS[::-1]


async def test_a_scan_over_80000_tenants_pages_through_them_and_reaches_every_row(
    dev_env: WorkflowEnvironment, database_url: str, engine: AsyncEngine
) -> None:
    expected: list[tuple[str | None, int]] = []
    for tenant, count in WITH_ROWS.items():
        added = await add_tickets(engine, count, organisation=tenant, first_id=len(expected) + 1)
        expected += [(tenant, ticket) for ticket in added]
    seen: list[tuple[str | None, int]] = []
    domain = unique_domain()
    tickets = domain.resource(Ticket, tenant_column="organisation", list_tenants=all_tenants)

    @tickets.action
    async def note(ticket: Ticket, ctx: ActionContext) -> None:
        seen.append((ctx.tenant, ticket.id))
        ticket.escalated = True

    trigger = tickets.trigger(
        "note", action=note, where=Ticket.escalated.is_(False), scheduler_cron=None
    )
    async with running(domain, dev_env, database_url) as ember:
        drained = await ember.schedule_and_run_triggers(trigger)
        handle = await ember.start_scan(trigger)
        again: ScanSummary = await handle.result()
    assert drained.succeeded == len(expected)
    assert sorted(seen) == expected, "each row once, in its own tenant"
    assert (again.tenants, again.dispatched) == (len(TENANTS), 0)


async def test_a_scheduled_action_over_tenants_past_one_payload_runs_each_once_in_bounded_runs(
    dev_env: WorkflowEnvironment, database_url: str
) -> None:
    names = [f"{i:03d}-" + "t" * 4000 for i in range(550)]  # 2.2 MB of names
    ran: list[str | None] = []
    domain = unique_domain()
    tickets = domain.resource(Ticket, tenant_column="organisation")

    @tickets.action
    async def report(ctx: ActionContext) -> None:
        ran.append(ctx.tenant)

    scheduled = tickets.schedule("report", cron="@daily", action=report, tenants=lambda: names)
    async with running(domain, dev_env, database_url) as ember:
        handle = await ember.start_scan(scheduled)
        result: ScheduledOutcome = await handle.result()
        first_run = dev_env.client.get_workflow_handle(handle.id, run_id=handle.result_run_id)
        history = await first_run.fetch_history()
        assert (await first_run.describe()).status == WorkflowExecutionStatus.CONTINUED_AS_NEW
    assert sorted(ran, key=str) == names, "every tenant ran once"
    assert result.counts == {"succeeded": len(names)}
    assert result.omitted > 0 and len(result.outcomes) + result.omitted == len(names)
    assert history.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
