"""The outbox relay: start the runs that committed transactions enqueued."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from temporalio.runtime import Runtime as SdkRuntime

from activities.dispatch import start_record_run
from activities.metrics import OUTBOX_LAG, record_latency
from activities.runtime import Runtime
from registry.signing import seal
from registry.tables import outbox

logger = logging.getLogger("ember.outbox")

BATCH = 200
IDLE_POLL = 0.5


class OutboxRelay:
    """Delivers ``ember_outbox`` rows: start the run, then delete the row.

    At least once: a crash between start and delete redelivers the row, and
    the deterministic workflow id makes the repeat join the same run while it
    is running. Rows are claimed with ``FOR UPDATE SKIP LOCKED``, so several
    workers can relay side by side.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        sdk_runtime = runtime.client.service_client.config.runtime or SdkRuntime.default()
        self._meter = sdk_runtime.metric_meter

    async def deliver_once(self) -> int:
        """Deliver one batch; returns how many rows were delivered."""
        delivered = 0
        async with self.runtime.sessions() as session, session.begin():
            rows = (
                await session.execute(
                    select(outbox.c.id, outbox.c.request, outbox.c.created_at)
                    .where(outbox.c.request["domain"].astext == self.runtime.domain.name)
                    .order_by(outbox.c.id)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for row_id, request, created_at in rows:
                try:
                    await self._start(request)
                    lag = datetime.now(UTC) - created_at
                    record_latency(self._meter, OUTBOX_LAG, request["trigger"], lag)
                except Exception as error:
                    logger.warning("ember: outbox row %s not delivered: %s", row_id, error)
                    await session.execute(
                        update(outbox)
                        .where(outbox.c.id == row_id)
                        .values(attempts=outbox.c.attempts + 1, last_error=str(error)[:1000])
                    )
                    continue
                await session.execute(delete(outbox).where(outbox.c.id == row_id))
                delivered += 1
        return delivered

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set, polling when the outbox is empty."""
        while not stop.is_set():
            try:
                delivered = await self.deliver_once()
            except Exception as error:  # the database may be briefly away: keep relaying
                logger.warning("ember: outbox relay failed, retrying: %s", error)
                delivered = 0
            if delivered < BATCH:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), IDLE_POLL)

    async def _start(self, request: dict[str, Any]) -> None:
        trigger = self.runtime.domain.get_trigger(request["resource"], request["trigger"])
        config = self.runtime.config
        actor = request.get("actor")
        await start_record_run(
            self.runtime.client,
            trigger,
            request.get("tenant"),
            request["record"],
            task_queue_prefix=config.task_queue_prefix,
            actor=None if actor is None else seal(actor, config.signing_key),
            source="direct",
            action_input=request.get("input"),
            with_attributes=config.search_attributes,
        )
