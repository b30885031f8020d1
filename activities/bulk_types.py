"""The dataclasses of bulk chunks: one action per chunk, one outcome per record.

Pure dataclasses only: this module is imported inside the workflow sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ember.activities.types import ChunkRun, DeclarationRef, FailureInfo, RunSource

LOCKED_ELSEWHERE = "locked_elsewhere"  # a row another transaction held: left to the next scan


@dataclass
class BulkRun(ChunkRun):
    """Input of the bulk chunk workflow: a chunk run, and what a continued run carries."""

    attempts_used: int = 0
    started_at: float | None = None  # the first run's start, carried across continue-as-new


@dataclass
class BulkRequest:
    """Input of ``run_bulk_chunk`` and ``run_bulk_on_error``: one transaction's records."""

    trigger: DeclarationRef
    tenant: str | None
    records: list[str]
    chunk: list[str]  # every record of the chunk: its actor is signed for them all
    actor: dict[str, Any] | None
    source: RunSource
    attempts_before: int = 0
    max_attempts: int = 1
    error: FailureInfo | None = None
    started_at: float | None = None


@dataclass
class BulkSelection:
    """What one bulk transaction found among its records.

    ``acted``: locked, still matching and given to the action; ``skipped``: key →
    ``trigger_no_longer_applies`` or ``locked_elsewhere``; ``forbidden``: denied by
    the action's policy.
    """

    acted: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    forbidden: list[str] = field(default_factory=list)


@dataclass
class BulkResult:
    """How one bulk transaction ended (failures are raised, carrying its selection).

    ``status``: succeeded, cancelled (``reason``), snoozed (``snooze_seconds``) or
    locked (a lock was not had in time; nothing committed).
    """

    status: Literal["succeeded", "cancelled", "snoozed", "locked"]
    attempt: int
    selection: BulkSelection = field(default_factory=BulkSelection)
    reason: str | None = None
    snooze_seconds: float = 0.0
