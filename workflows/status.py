"""Per-trigger status from Temporal visibility and the database: for `status` and `dev`."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.service import RPCError

from activities.records import matching_count_query
from activities.runtime import create_engine
from registry import Domain, Trigger, naming
from registry.tables import OUTBOX_MAX_ATTEMPTS, outbox
from workflows.settings import Settings

RECENT = timedelta(hours=24)
OUTCOMES = ("succeeded", "failed", "cancelled", "discarded", "errored_handled", "snoozed")
PROGRESS_EVERY = 3.0
NOT_SUCCEEDED_STATUSES = ("Failed", "Terminated", "TimedOut", "Canceled")


@dataclass
class TriggerStatus:
    """What a person wants to know about one trigger at a glance."""

    name: str
    schedule: str
    last_scan: datetime | None
    matching: int | None
    running: int
    outcomes: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        """One line: name, schedule, matching, running and outcome counts."""
        matching = "-" if self.matching is None else str(self.matching)
        counts = " ".join(f"{k}={v}" for k, v in self.outcomes.items() if v)
        return (
            f"{self.name:40} {self.schedule:8} matching={matching:>6} "
            f"running={self.running:>5} {counts or 'no runs finished in 24h'}"
        )


def not_succeeded_query(domain: Domain, task_queue_prefix: str = "") -> str:
    """Visibility query of ``domain``'s record and chunk runs that ended without succeeding.

    Those that closed with Temporal status Failed (outcome ``failed`` or ``discarded``),
    that Temporal ended (terminated, timed out, cancelled), and those whose failure
    on_error handled (``errored_handled``, status Completed).
    """
    quoted = naming.visibility_literal
    ids = quoted(naming.domain_prefix(domain.name, task_queue_prefix))
    kinds = f"{quoted(naming.RECORD_WORKFLOW)}, {quoted(naming.CHUNK_WORKFLOW)}"
    ended = ", ".join(quoted(status) for status in NOT_SUCCEEDED_STATUSES)
    return (
        f"WorkflowId STARTS_WITH {ids} AND WorkflowType IN ({kinds}) "
        f"AND (ExecutionStatus IN ({ended}) "
        f"OR {naming.OUTCOME_ATTRIBUTE} = {quoted('errored_handled')})"
    )


async def trigger_status(
    client: Client, engine: AsyncEngine, trigger: Trigger, task_queue_prefix: str = ""
) -> TriggerStatus:
    """Schedule state, last scan, rows matching now and run counts of one trigger.

    Runs are record runs and chunk runs (a chunk counts once, by its worst
    outcome) of the environment ``task_queue_prefix`` names; finished ones are
    those that closed within ``RECENT``.
    """
    quoted = naming.visibility_literal
    schedule_id = trigger.schedule_id_for(task_queue_prefix)
    kinds = f"{quoted(naming.RECORD_WORKFLOW)}, {quoted(naming.CHUNK_WORKFLOW)}"
    runs = quoted(f"{schedule_id}/")
    prefix = f"WorkflowId STARTS_WITH {runs} AND WorkflowType IN ({kinds})"
    since = quoted((datetime.now(UTC) - RECENT).isoformat(timespec="seconds"))

    async def count(condition: str) -> int:
        return (await client.count_workflows(f"{prefix} AND {condition}")).count

    running, *finished = await asyncio.gather(
        count(f"ExecutionStatus = {quoted('Running')}"),
        *(
            count(
                f"{naming.OUTCOME_ATTRIBUTE} = {quoted(o)} "
                f"AND ExecutionStatus != {quoted('Running')} AND CloseTime > {since}"
            )
            for o in OUTCOMES
        ),
    )
    schedule, last_scan = await _schedule_state(client, trigger, schedule_id)
    return TriggerStatus(
        name=f"{trigger.resource.name}.{trigger.name}",
        schedule=schedule,
        last_scan=last_scan,
        matching=await _matching(engine, trigger),
        running=running,
        outcomes=dict(zip(OUTCOMES, finished, strict=True)),
    )


async def domain_status(
    client: Client, engine: AsyncEngine, domain: Domain, task_queue_prefix: str = ""
) -> list[TriggerStatus]:
    """The status of every trigger of ``domain`` in the environment ``task_queue_prefix`` names."""
    return [
        await trigger_status(client, engine, trigger, task_queue_prefix)
        for trigger in domain.triggers
    ]


async def outbox_line(engine: AsyncEngine, domain: Domain) -> str:
    """``ember_outbox`` rows of ``domain``: waiting for the relay, and dead letters."""
    dead = outbox.c.attempts >= OUTBOX_MAX_ATTEMPTS
    query = select(func.count().filter(~dead), func.count().filter(dead)).where(
        outbox.c.request["domain"].astext == domain.name
    )
    async with engine.connect() as connection:
        waiting, dead_letters = (await connection.execute(query)).one()
    line = f"{'outbox':40} waiting={waiting:>6} dead={dead_letters}"
    if dead_letters:
        line += (
            f" (attempts >= {OUTBOX_MAX_ATTEMPTS}: see last_error; set attempts = 0 to redeliver)"
        )
    return line


async def show_progress(client: Client, settings: Settings, domain: Domain) -> None:
    """Print one line per trigger every few seconds until cancelled (``worker.py dev``)."""
    engine = create_engine(settings.require_database_url(), pool_size=1)
    shown = ""
    try:
        while True:
            await asyncio.sleep(PROGRESS_EVERY)
            with contextlib.suppress(Exception):  # visibility may lag; try next time
                rows = await domain_status(client, engine, domain, settings.task_queue_prefix)
                text = "\n".join(row.line() for row in rows)
                if text != shown:
                    print(f"--- ember progress ---\n{text}", flush=True)
                    shown = text
    finally:
        await engine.dispose()


async def _schedule_state(
    client: Client, trigger: Trigger, schedule_id: str
) -> tuple[str, datetime | None]:
    if not trigger.has_schedule:
        return "manual", None
    try:
        description = await client.get_schedule_handle(schedule_id).describe()
    except RPCError:
        return "missing", None
    recent = description.info.recent_actions
    state = "paused" if description.schedule.state.paused else "active"
    return state, recent[-1].started_at if recent else None


async def _matching(engine: AsyncEngine, trigger: Trigger) -> int | None:
    if trigger.resource.tenant_schema:
        return None  # one count per schema: not worth the queries here
    async with engine.connect() as connection:
        return int(await connection.scalar(matching_count_query(trigger)) or 0)
