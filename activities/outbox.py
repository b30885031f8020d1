"""The outbox relay: start the runs that committed transactions enqueued."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.runtime import Runtime

from ember.activities.dispatch import start_record_run
from ember.activities.messages import cut
from ember.activities.metrics import OUTBOX_LAG, record_latency
from ember.activities.runtime import WorkerRuntime
from ember.registry.signing import Scope
from ember.registry.tables import OUTBOX_MAX_ATTEMPTS, outbox

logger = logging.getLogger("ember.outbox")

BATCH = 200
IDLE_POLL = 0.5
MAX_RETRY_DELAY = timedelta(minutes=5)
HEALTH_TIMEOUT = timedelta(seconds=5)


def retry_delay(failures: int) -> timedelta:
    """How long a row waits after its ``failures``-th failed start: 2 s, 4 s, … up to 5 min."""
    return min(timedelta(seconds=2**failures), MAX_RETRY_DELAY)


class OutboxRelay:
    """Delivers ``ember_outbox`` rows: start the run, then delete the row.

    At least once: a crash between start and delete redelivers the row, and
    the deterministic workflow id makes the repeat join the same run while it
    is running. Rows are claimed with ``FOR UPDATE SKIP LOCKED``, so several
    workers can relay side by side.
    """

    def __init__(self, runtime: WorkerRuntime) -> None:
        self.runtime = runtime
        sdk_runtime = runtime.client.service_client.config.runtime or Runtime.default()
        self._meter = sdk_runtime.metric_meter

    async def deliver_once(self) -> int:
        """Deliver one batch of due rows; returns how many were delivered.

        A row whose start fails waits ``retry_delay`` before the next try, and
        after ``OUTBOX_MAX_ATTEMPTS`` failures stays as a dead letter, so rows
        that cannot start never hold back the ones behind them. When Temporal
        is unreachable the batch stops without using anyone's attempts.
        """
        delivered = 0
        async with self.runtime.sessions() as session, session.begin():
            rows = (
                await session.execute(
                    select(outbox.c.id, outbox.c.request, outbox.c.created_at, outbox.c.attempts)
                    .where(
                        outbox.c.request["domain"].astext == self.runtime.domain.name,
                        outbox.c.attempts < OUTBOX_MAX_ATTEMPTS,
                        outbox.c.next_attempt_at <= func.now(),
                    )
                    .order_by(outbox.c.id)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            for row_id, request, created_at, attempts in rows:
                try:
                    await self._start(request)
                except Exception as error:
                    if not await self._temporal_reachable():
                        logger.warning(
                            "ember: outbox relay paused, Temporal unreachable: %s", error
                        )
                        break
                    await self._failed(session, row_id, attempts, error)
                    continue
                lag = datetime.now(UTC) - created_at
                record_latency(self._meter, OUTBOX_LAG, request["trigger"], lag)
                await session.execute(delete(outbox).where(outbox.c.id == row_id))
                delivered += 1
        return delivered

    async def _temporal_reachable(self) -> bool:
        try:
            return await self.runtime.client.service_client.check_health(timeout=HEALTH_TIMEOUT)
        except Exception:
            return False

    async def _failed(
        self, session: AsyncSession, row_id: int, attempts: int, error: Exception
    ) -> None:
        attempts += 1
        message = cut(f"{type(error).__name__}: {error}")
        if attempts >= OUTBOX_MAX_ATTEMPTS:
            logger.error(
                "ember: outbox row %s not delivered after %d attempts, kept as a dead letter: %s; "
                "fix the cause, then set attempts = 0 on the row to redeliver it",
                row_id,
                attempts,
                message,
            )
        else:
            logger.warning(
                "ember: outbox row %s not delivered (attempt %d): %s", row_id, attempts, message
            )
        await session.execute(
            update(outbox)
            .where(outbox.c.id == row_id)
            .values(
                attempts=attempts,
                last_error=message,
                next_attempt_at=func.now() + retry_delay(attempts),
            )
        )

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
        scope = Scope.of(
            trigger, config.task_queue_prefix, request.get("tenant"), request["record"]
        )
        await start_record_run(
            self.runtime.client,
            trigger,
            request.get("tenant"),
            request["record"],
            task_queue_prefix=config.task_queue_prefix,
            actor=None if actor is None else config.signer.seal(actor, scope),
            source="direct",
            action_input=request.get("input"),
            search_attributes=config.search_attributes,
        )
