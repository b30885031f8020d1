"""Oban-style assertions for tests of an application's triggers.

``assert_would_schedule`` / ``refute_would_schedule`` ask the database whether a record
matches a trigger now, without starting anything; ``assert_triggered`` checks how the
record's run ended after a drain (``ember.schedule_and_run_triggers(...)``)::

    await assert_would_schedule(engine, escalate_stale, ticket)
    await ember.schedule_and_run_triggers(escalate_stale)
    await assert_triggered(ember, escalate_stale, ticket, outcome="succeeded")
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from ember.activities.records import enter_tenant, record_query
from ember.activities.run_results import RunHandle
from ember.activities.types import Outcome
from ember.registry import Trigger
from ember.registry.lookup import record_model
from ember.registry.targets import RecordLike, record_target, resolve_trigger
from ember.registry.tenancy import TenantNotFound
from ember.workflows.client import TriggerClient


async def would_schedule(
    engine: AsyncEngine, trigger: Trigger, record: RecordLike, *, tenant: str | None = None
) -> bool:
    """Whether a scan now would start a run of ``trigger`` for ``record`` (nothing is locked).

    Args:
        engine: an engine on the application's database.
        trigger: the trigger (the object ``resource.trigger(...)`` returned).
        record: a saved model instance, or ``(Model, pk)``.
        tenant: the record's tenant (read from an instance when omitted).
    """
    target = record_target(trigger, record, tenant, None)
    async with AsyncSession(engine) as session, session.begin():
        try:
            await enter_tenant(session, trigger.resource, target.tenant)
        except TenantNotFound:
            return False
        query = record_query(trigger, target.tenant, target.key, lock=False)
        return (await session.execute(query)).first() is not None


async def assert_would_schedule(
    engine: AsyncEngine, trigger: Trigger, record: RecordLike, *, tenant: str | None = None
) -> None:
    """Fail unless ``record`` matches ``trigger`` now (see :func:`would_schedule`)."""
    if not await would_schedule(engine, trigger, record, tenant=tenant):
        raise AssertionError(
            f"expected {trigger.path} to schedule {_shown(record)}, found it does not match "
            "the trigger's where (or tenant, or trigger_once) now"
        )


async def refute_would_schedule(
    engine: AsyncEngine, trigger: Trigger, record: RecordLike, *, tenant: str | None = None
) -> None:
    """Fail if ``record`` matches ``trigger`` now (see :func:`would_schedule`)."""
    if await would_schedule(engine, trigger, record, tenant=tenant):
        raise AssertionError(
            f"expected {trigger.path} not to schedule {_shown(record)}, found it matches now"
        )


async def assert_triggered(
    ember: TriggerClient,
    trigger: Trigger | str,
    record: RecordLike,
    *,
    outcome: str | None = None,
    tenant: str | None = None,
) -> Outcome:
    """Fail unless a run of ``trigger`` for ``record`` ended (with ``outcome``, if given).

    Returns:
        The run's :class:`Outcome`, for further checks.
    """
    resolved = resolve_trigger(ember.domain, trigger, record_model(record))
    target = record_target(resolved, record, tenant, None)
    workflow_id = resolved.workflow_id(target.tenant, target.key, ember.task_queue_prefix)
    handle = RunHandle(ember.client, workflow_id, result_type=Outcome)
    try:
        description = await handle.describe()
    except RPCError as error:
        if error.status != RPCStatusCode.NOT_FOUND:
            raise
        raise AssertionError(
            f"expected a run of {resolved.path} for {_shown(record)}, found none ({workflow_id})"
        ) from None
    if description.status == WorkflowExecutionStatus.RUNNING:
        raise AssertionError(
            f"expected the run of {resolved.path} for {_shown(record)} to have ended, found it "
            "still running; fix: drain first (ember.schedule_and_run_triggers(...))"
        )
    ended: Outcome = await handle.result()
    if outcome is not None and ended.status != outcome:
        detail = ended.reason or (ended.error and f"{ended.error.type}: {ended.error.message}")
        raise AssertionError(
            f"expected the run of {resolved.path} for {_shown(record)} to end {outcome}, "
            f"found {ended.status}" + (f" ({detail})" if detail else "")
        )
    return ended


def _shown(record: Any) -> str:
    if isinstance(record, tuple):
        return f"{record[0].__name__} {record[1]!r}"
    return repr(record)
