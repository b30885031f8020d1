"""Retries and snoozes on the time-skipping server finish without waiting them out.

No pytest-asyncio settings and no marks: the plugin runs these ``async def`` tests.
"""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from ember.workflows.client import TriggerClient
from ember.workflows.drain import TriggerRunSummary
from ember.workflows.testing.assertions import assert_triggered
from tests.plugin_time_skipping.chores import Chore, flaky, later


async def add_chores(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.execute(insert(Chore), [{"id": 1}, {"id": 2}])
    await engine.dispose()


async def done(url: str) -> dict[int, str | None]:
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        rows = (await connection.execute(select(Chore.id, Chore.done))).all()
    await engine.dispose()
    return {row.id: row.done for row in rows}


async def test_three_attempts_with_the_default_backoff_drain_at_once(
    ember_time_skipping: TriggerClient, ember_database_url: str
) -> None:
    await add_chores(ember_database_url)
    summary = await ember_time_skipping.schedule_and_run_triggers(flaky)
    assert summary == TriggerRunSummary(succeeded=1)
    outcome = await assert_triggered(ember_time_skipping, flaky, (Chore, 1), outcome="succeeded")
    assert outcome.attempts == 3
    handle = ember_time_skipping.client.get_workflow_handle(flaky.workflow_id(None, "1"))
    described = await handle.describe()
    assert described.close_time is not None
    # The server's clock moved past both backoffs (15 s, then 30 s) between the attempts.
    assert (described.close_time - described.start_time).total_seconds() >= 45
    assert (await done(ember_database_url))[1] == "flaky"


async def test_a_run_snoozing_for_an_hour_finishes_in_a_drain_with_scheduled(
    ember_time_skipping: TriggerClient, ember_database_url: str
) -> None:
    await add_chores(ember_database_url)
    summary = await ember_time_skipping.schedule_and_run_triggers(later, with_scheduled=True)
    assert summary == TriggerRunSummary(succeeded=1)
    handle = ember_time_skipping.client.get_workflow_handle(later.workflow_id(None, "2"))
    described = await handle.describe()
    assert described.close_time is not None
    assert (described.close_time - described.start_time).total_seconds() >= 3600
    assert (await done(ember_database_url))[2] == "later"
