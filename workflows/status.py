"""Status of each trigger and scheduled action, from Temporal visibility and the database:
for `status` and `dev`."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.service import RPCError

from ember.activities.records import matching_count_query
from ember.activities.runtime import create_engine
from ember.registry import Domain, ScheduledAction, Trigger, naming
from ember.registry.options import DEFAULT_TIME_ZONE
from ember.registry.tables import OUTBOX_MAX_ATTEMPTS, outbox
from ember.workflows.settings import Settings

RECENT = timedelta(hours=24)
OUTCOMES = ("succeeded", "failed", "cancelled", "discarded", "errored_handled", "snoozed")
PROGRESS_EVERY = 3.0
NOT_SUCCEEDED_STATUSES = ("Failed", "Terminated", "TimedOut", "Canceled")


@dataclass
class TriggerStatus:
    """What a person wants to know about one trigger or scheduled action at a glance."""

    name: str
    schedule: str
    last_run: datetime | None
    matching: int | None
    running: int
    outcomes: dict[str, int] = field(default_factory=dict)
    scheduled_action: bool = False
    cron: str | None = None
    timezone: str = DEFAULT_TIME_ZONE

    def line(self) -> str:
        """One line: name, schedule, matching (a trigger's), running and outcome counts."""
        matching = "-" if self.matching is None else str(self.matching)
        what = f"{'scheduled':15}" if self.scheduled_action else f"matching={matching:>6}"
        counts = " ".join(f"{k}={v}" for k, v in self.outcomes.items() if v)
        return (
            f"{self.name:40} {self.schedule:8} {what} "
            f"running={self.running:>5} {counts or 'no runs finished in 24h'}"
        )

    def report(self) -> str:
        """``line()``, then when the schedule last fired, and its cron and time zone."""
        last = self.last_run.isoformat(timespec="seconds") if self.last_run else "never"
        label = "last_run" if self.scheduled_action else "last_scan"
        when = f' cron="{self.cron}" timezone={self.timezone}' if self.cron else ""
        return f"{self.line()} {label}={last}{when}"


def not_succeeded_query(domain: Domain, task_queue_prefix: str = "") -> str:
    """Visibility query of ``domain``'s record and chunk runs that ended without succeeding.

    Those that closed with Temporal status Failed (outcome ``failed`` or ``discarded``),
    that Temporal ended (terminated, timed out, cancelled), and those whose failure
    on_error handled (``errored_handled``, status Completed).
    """
    quoted = naming.visibility_literal
    ids = quoted(naming.domain_prefix(domain.name, task_queue_prefix))
    kinds = ", ".join(
        quoted(kind)
        for kind in (naming.RECORD_WORKFLOW, naming.CHUNK_WORKFLOW, naming.BULK_CHUNK_WORKFLOW)
    )
    ended = ", ".join(quoted(status) for status in NOT_SUCCEEDED_STATUSES)
    return (
        f"WorkflowId STARTS_WITH {ids} AND WorkflowType IN ({kinds}) "
        f"AND (ExecutionStatus IN ({ended}) "
        f"OR {naming.OUTCOME_ATTRIBUTE} = {quoted('errored_handled')})"
    )


async def trigger_status(
    client: Client,
    engine: AsyncEngine,
    declaration: Trigger | ScheduledAction,
    task_queue_prefix: str = "",
) -> TriggerStatus:
    """Schedule state, last run, rows matching now and run counts of one trigger or
    scheduled action.

    A trigger's runs are record runs and chunk runs (a chunk counts once, by its
    worst outcome); a scheduled action's are its workflow runs (one per firing, by
    its tenants' worst outcome). Only those of the environment ``task_queue_prefix``
    names; finished ones are those that closed within ``RECENT``.
    """
    quoted = naming.visibility_literal
    schedule_id = declaration.schedule_id_for(task_queue_prefix)
    runs = quoted(f"{schedule_id}/")
    if isinstance(declaration, Trigger):
        kinds = ", ".join(
            quoted(kind)
            for kind in (naming.RECORD_WORKFLOW, naming.CHUNK_WORKFLOW, naming.BULK_CHUNK_WORKFLOW)
        )
        prefix = f"WorkflowId STARTS_WITH {runs} AND WorkflowType IN ({kinds})"
        cron = declaration.options.scheduler_cron
    else:  # started by its schedule, or on demand (ember.schedule)
        prefix = (
            f"WorkflowType = {quoted(naming.SCHEDULED_ACTION_WORKFLOW)} AND "
            f"(TemporalScheduledById = {quoted(schedule_id)} OR WorkflowId STARTS_WITH {runs})"
        )
        cron = declaration.options.cron
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
    schedule, last_run = await _schedule_state(client, declaration, schedule_id)
    trigger = declaration if isinstance(declaration, Trigger) else None
    return TriggerStatus(
        name=f"{declaration.resource.name}.{declaration.name}",
        schedule=schedule,
        last_run=last_run,
        matching=None if trigger is None else await _matching(engine, trigger),
        running=running,
        outcomes=dict(zip(OUTCOMES, finished, strict=True)),
        scheduled_action=trigger is None,
        cron=cron,
        timezone=declaration.options.timezone,
    )


async def domain_status(
    client: Client, engine: AsyncEngine, domain: Domain, task_queue_prefix: str = ""
) -> list[TriggerStatus]:
    """The status of every trigger, then every scheduled action, of ``domain`` in the
    environment ``task_queue_prefix`` names."""
    declarations: list[Trigger | ScheduledAction] = [*domain.triggers, *domain.schedules]
    return [
        await trigger_status(client, engine, declaration, task_queue_prefix)
        for declaration in declarations
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
    client: Client, declaration: Trigger | ScheduledAction, schedule_id: str
) -> tuple[str, datetime | None]:
    if not declaration.has_schedule:
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
