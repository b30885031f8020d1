"""Awaiting conditions instead of sleeping: workflow states, rows, outbox contents."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from ember.registry import naming
from ember.registry.tables import outbox


async def eventually(
    condition: Callable[[], Awaitable[bool]], *, timeout: float = 15.0, what: str = "condition"
) -> None:
    """Return as soon as ``condition()`` is true; fail after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} did not hold within {timeout:g}s")
        await asyncio.sleep(0.05)


async def workflow_status(client: Client, workflow_id: str) -> WorkflowExecutionStatus | None:
    """The status of the latest run of ``workflow_id``; None when there is none."""
    try:
        description = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return description.status


async def run_state(handle: WorkflowHandle[Any, Any]) -> str:
    """The record run's ``state`` query: running, snoozed or finished."""
    state: str = await handle.query(naming.STATE_QUERY, result_type=str)
    return state


async def until_state(handle: WorkflowHandle[Any, Any], state: str) -> None:
    """Wait until the record run (perhaps not started yet) reports ``state``."""

    async def reached() -> bool:
        try:
            return await run_state(handle) == state
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return False
            raise

    await eventually(reached, what=f"{handle.id} in state {state!r}")


async def outbox_rows(engine: AsyncEngine) -> int:
    """How many rows ``ember_outbox`` holds."""
    async with engine.connect() as connection:
        return int(await connection.scalar(select(func.count()).select_from(outbox)) or 0)
