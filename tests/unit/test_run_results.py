"""Which outcomes end a run with Temporal status Failed, and the failure's one-line message."""

from __future__ import annotations

from ember.activities.run_results import outcome_text, run_failure
from ember.activities.types import ChunkOutcome, FailureInfo, Outcome
from ember.registry import naming

BOOM = FailureInfo("RuntimeError", "boom", 3)


def test_describe_gives_the_status_then_the_reason_and_the_error() -> None:
    assert outcome_text(Outcome("failed", 3, BOOM)) == "failed: RuntimeError: boom"
    forbidden = FailureInfo("ember.Forbidden", "forbidden", 1)
    assert outcome_text(Outcome("discarded", 1, forbidden, "forbidden")) == "discarded: forbidden"
    assert (
        outcome_text(Outcome("discarded", 3, BOOM, "on_error_failed"))
        == "discarded: on_error_failed (RuntimeError: boom)"
    )
    assert outcome_text(Outcome("succeeded", 1)) == "succeeded"


def test_only_failed_and_discarded_runs_end_failed_carrying_their_outcome() -> None:
    for status in ("succeeded", "cancelled", "errored_handled"):
        assert run_failure(Outcome(status, 1, BOOM)) is None, status
    outcome = Outcome("failed", 3, BOOM)
    failure = run_failure(outcome)
    assert failure is not None
    assert (failure.type, failure.non_retryable) == (naming.RUN_FAILED_ERROR, True)
    assert (failure.message, failure.details) == ("failed: RuntimeError: boom", (outcome,))


def test_a_chunk_ends_failed_when_any_record_failed_or_was_discarded() -> None:
    fine = ChunkOutcome({"1": Outcome("succeeded", 1), "2": Outcome("errored_handled", 3)})
    assert run_failure(fine) is None
    mixed = ChunkOutcome({**fine.outcomes, "3": Outcome("failed", 3), "4": Outcome("discarded")})
    failure = run_failure(mixed)
    assert failure is not None and failure.details == (mixed,)
    assert failure.message == "2 of 4 records did not succeed: failed 1, discarded 1"
