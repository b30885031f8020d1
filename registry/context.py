"""What an action receives besides its record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

RunSource = Literal["trigger", "schedule", "direct"]


@dataclass(frozen=True)
class ErrorInfo:
    """The failure that led to an on_error run."""

    type: str
    message: str
    attempt: int


@dataclass
class ActionContext:
    """The context of one action run.

    Attributes:
        session: the transaction that holds the row lock. Ember owns it: it commits
            after the action, and ``commit()``, ``rollback()`` or ``close()`` here
            fail the attempt (savepoints from ``begin_nested()`` are free). A plain
            ``def`` action runs on a thread of its own, inside ``session.run_sync``:
            it queries through ``session.sync_session``.
        actor: who is acting, restored from the run's actor reference (or None).
        tenant: the tenant the run belongs to (or None).
        input: the validated action input: the declaration's ``action_input``
            merged with the run's own (its keys win); a pydantic model when the
            action declares ``input=``, else a dict.
        trigger: the trigger or scheduled action name, None for direct runs.
        source: ``"trigger"`` (a scan), ``"schedule"`` (a scheduled action) or
            ``"direct"`` (``run_trigger`` / ``run_triggers`` / ``enqueue_trigger``).
        attempt: 1-based attempt number.
        max_attempts: attempts allowed.
        last_attempt: true on the last allowed attempt.
        metadata: what the trigger's ``read_metadata`` returned.
        error: the failure, on on_error runs only.
        shared: the domain's shared context.
        by_ember: true when Ember runs the action (every run it starts, whatever
            the source); false in a context application code builds itself.
            ``ember.checks.trigger_interaction`` reads it.
        extra: the trigger's ``extra_args`` (a dict, or what its function returned
            for the locked record).
        record_key: the record's primary key (a trigger's runs; how a generic
            action learns which record it runs for).
    """

    session: AsyncSession
    actor: Any = None
    tenant: str | None = None
    input: Any = None
    trigger: str | None = None
    source: RunSource = "trigger"
    attempt: int = 1
    max_attempts: int = 1
    last_attempt: bool = True
    metadata: dict[str, Any] = field(default_factory=dict)
    error: ErrorInfo | None = None
    shared: dict[str, Any] = field(default_factory=dict)
    by_ember: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    record_key: Any = None
