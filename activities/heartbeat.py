"""Heartbeating while an activity works, so a worker that died is noticed in seconds."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from temporalio import activity

HEARTBEAT_EVERY = 2.0  # seconds; activities that heartbeat have a timeout of 15 s or more


@contextlib.asynccontextmanager
async def heartbeating(every: float) -> AsyncIterator[None]:
    """Heartbeat every ``every`` seconds until the block ends.

    The heartbeat says the worker process is alive, not how far the work got: with a
    ``heartbeat_timeout`` on the activity, Temporal retries it that long after the
    worker died instead of waiting out the whole start-to-close timeout.
    """

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(every)

    task = asyncio.ensure_future(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
