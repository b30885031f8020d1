"""The chunk workflow's bookkeeping, without servers: attempts, outages, snoozes, backoff."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ember.activities.types import (
    UNAVAILABLE_ERROR,
    ActionResult,
    ChunkItemResult,
    FailureInfo,
    RetrySpec,
)
from ember.workflows.attempts import LOCK_RETRY, OUTAGE_TRIES, backoff, outage_backoff
from ember.workflows.chunk_progress import ChunkProgress, worst

NOW = datetime(2026, 1, 1, tzinfo=UTC)
RETRY = RetrySpec(max_attempts=3, initial_seconds=10, coefficient=2, maximum_seconds=60)


def failed(record: str, attempt: int, *, final: bool = False) -> ChunkItemResult:
    return ChunkItemResult(record, None, FailureInfo("RuntimeError", "boom", attempt), final)


def test_a_success_ends_the_record_and_a_cancel_too() -> None:
    progress = ChunkProgress.of(["a", "b"], NOW)
    progress.settle(ChunkItemResult("a", ActionResult("succeeded", 1)), RETRY, NOW)
    progress.settle(ChunkItemResult("b", ActionResult("cancelled", 1, reason="gone")), RETRY, NOW)
    assert not progress.pending
    assert {k: (o.status, o.reason) for k, o in progress.result.outcomes.items()} == {
        "a": ("succeeded", None),
        "b": ("cancelled", "gone"),
    }


def test_snoozes_and_lock_waits_use_no_attempt() -> None:
    progress = ChunkProgress.of(["a", "b"], NOW)
    progress.settle(ChunkItemResult("a", ActionResult("snoozed", 1, snooze_seconds=30)), RETRY, NOW)
    progress.settle(ChunkItemResult("b", ActionResult("locked", 1)), RETRY, NOW)
    assert progress.pending["a"].due == NOW + timedelta(seconds=30)
    assert progress.pending["b"].due == NOW + LOCK_RETRY
    assert [progress.pending[k].attempts for k in "ab"] == [0, 0]
    assert not progress.all_snoozing  # b is not snoozing
    assert progress.ready(NOW + timedelta(seconds=2)) == ["b"]


def test_an_action_failure_uses_an_attempt_and_waits_the_backoff_until_the_last() -> None:
    progress = ChunkProgress.of(["a"], NOW)
    progress.settle(failed("a", 1), RETRY, NOW)
    assert (progress.pending["a"].attempts, progress.pending["a"].due) == (
        1,
        NOW + backoff(RETRY, 1),
    )
    progress.settle(failed("a", 2), RETRY, NOW)
    assert progress.pending["a"].due == NOW + timedelta(seconds=20)
    progress.settle(failed("a", 3), RETRY, NOW)
    assert not progress.pending and progress.failed["a"].attempt == 3


def test_a_final_failure_ends_at_once_and_a_carried_delay_wins_over_the_backoff() -> None:
    progress = ChunkProgress.of(["a", "b"], NOW)
    progress.settle(failed("a", 1, final=True), RETRY, NOW)
    paced = ChunkItemResult("b", None, FailureInfo("RuntimeError", "x", 1), False, 7.0)
    progress.settle(paced, RETRY, NOW)
    assert list(progress.failed) == ["a"]
    assert progress.pending["b"].due == NOW + timedelta(seconds=7)


def test_outages_use_no_attempt_back_off_and_give_up_after_their_tries() -> None:
    progress = ChunkProgress.of(["a"], NOW)
    outage = ChunkItemResult("a", None, FailureInfo(UNAVAILABLE_ERROR, "down", 0))
    for tries in range(1, OUTAGE_TRIES):
        progress.settle(outage, RETRY, NOW)
        assert progress.pending["a"].due == NOW + outage_backoff(tries)
        assert progress.pending["a"].attempts == 0
    progress.settle(outage, RETRY, NOW)
    assert progress.failed["a"].type == UNAVAILABLE_ERROR and progress.failed["a"].attempt == 0


def test_worst_orders_outcomes_by_severity() -> None:
    assert worst(["succeeded", "failed", "cancelled"]) == "failed"
    assert worst(["succeeded", "errored_handled"]) == "errored_handled"
