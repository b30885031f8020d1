"""Where a chunk run's records stand: the pure bookkeeping of ``ChunkTriggerWorkflow``.

Each unfinished record keeps its attempts used, its outages in a row and when it is
due next; a batch's results move records to ended, due later, or failed for good
(their on_error still to come). No Temporal calls here, so it is tested on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ember.activities.types import (
    UNAVAILABLE_ERROR,
    ChunkItemResult,
    ChunkOutcome,
    FailureInfo,
    Outcome,
    RetrySpec,
)
from ember.registry.control import snooze_wait
from ember.workflows.attempts import LOCK_RETRY, OUTAGE_TRIES, backoff, gave_up, outage_backoff

SEVERITY = ("succeeded", "cancelled", "errored_handled", "discarded", "failed")


def worst(statuses: Sequence[str]) -> str:
    """The most severe of ``statuses`` (a run of many outcomes shows this one)."""
    return max(statuses, key=lambda s: SEVERITY.index(s) if s in SEVERITY else 0)


@dataclass
class RecordState:
    """One unfinished record: attempts used, outages in a row, when it is due next."""

    due: datetime
    attempts: int = 0
    outages: int = 0
    snoozing: bool = False


@dataclass
class ChunkProgress:
    """The records of a chunk run: unfinished ones by key, ended ones' outcomes, and those
    failed for good (their on_error still to run)."""

    pending: dict[str, RecordState]
    result: ChunkOutcome = field(default_factory=ChunkOutcome)
    failed: dict[str, FailureInfo] = field(default_factory=dict)

    @classmethod
    def of(cls, records: Iterable[str], now: datetime) -> ChunkProgress:
        """Every record unfinished and due ``now``."""
        return cls({record: RecordState(now) for record in records})

    def ready(self, now: datetime) -> list[str]:
        """The unfinished records due by ``now``."""
        return [record for record, state in self.pending.items() if state.due <= now]

    def next_due(self) -> datetime:
        """When the first unfinished record is due."""
        return min(state.due for state in self.pending.values())

    @property
    def all_snoozing(self) -> bool:
        """Whether every unfinished record is snoozing."""
        return bool(self.pending) and all(state.snoozing for state in self.pending.values())

    def settle(self, item: ChunkItemResult, retry: RetrySpec, now: datetime) -> None:
        """Fold one record's result in: ended, due again later, or failed for good."""
        state = self.pending[item.record]
        done, failure = item.result, item.failure
        outage = failure is not None and failure.type == UNAVAILABLE_ERROR
        state.outages = state.outages + 1 if outage else 0
        state.snoozing = done is not None and done.status == "snoozed"
        if done is not None and done.status in ("succeeded", "cancelled"):
            self.result.outcomes[item.record] = Outcome(
                done.status, done.attempt, reason=done.reason
            )
            del self.pending[item.record]
        elif done is not None:  # snoozed or locked: no attempt used
            wait = (
                snooze_wait(done.snooze_seconds)
                if done.status == "snoozed"
                else LOCK_RETRY.total_seconds()
            )
            state.due = now + timedelta(seconds=wait)
        elif failure is not None and outage:  # no attempt used
            if state.outages >= OUTAGE_TRIES:
                self.fail(item.record, gave_up(failure.message, state.attempts))
            else:
                state.due = now + outage_backoff(state.outages)
        elif failure is not None:
            state.attempts = failure.attempt
            if item.final or failure.attempt >= retry.max_attempts:
                self.fail(item.record, failure)
            elif item.retry_delay_seconds is not None:  # backoff is a function
                state.due = now + timedelta(seconds=item.retry_delay_seconds)
            else:
                state.due = now + backoff(retry, failure.attempt)

    def fail(self, record: str, failure: FailureInfo) -> None:
        """``record`` failed for good with ``failure`` (its attempts as the failure says)."""
        del self.pending[record]
        self.failed[record] = failure
