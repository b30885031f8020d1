"""After the last failed attempt: the compensating on_error, and the outcome it leads to."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError

# Dataclasses, names and deterministic helpers: passed through, so the sandbox does
# not re-import them for every run.
with workflow.unsafe.imports_passed_through():
    from activities.types import (
        ACTOR_ERROR,
        DISCARD_ERROR,
        UNAVAILABLE_ERROR,
        ActionRequest,
        FailureInfo,
        Outcome,
        RetrySpec,
    )
    from registry import naming
    from workflows.attempts import LOCK_RETRY, execute_action


def unhandled(failure: FailureInfo) -> Outcome:
    """The outcome of a failure nothing handled: ``discarded`` with its reason, or ``failed``.

    Outages that outlasted their retries (``ember.Unavailable``) end ``failed``.
    """
    if failure.type in (DISCARD_ERROR, ACTOR_ERROR):
        return Outcome("discarded", failure.attempt, failure, failure.message)
    return Outcome("failed", failure.attempt, failure)


async def compensate(
    failure: FailureInfo,
    request: ActionRequest,
    *,
    has_on_error: bool,
    on_error_fails_job: bool,
    retry: RetrySpec,
) -> Outcome:
    """Run on_error (once; lock waits and outages repeat it) and say how the run ends.

    A discard stays ``discarded``; an unknown actor skips on_error (it would act
    as nobody), and so does an outage that outlasted its retries (the record is
    not at fault); an on_error that fails ends ``discarded`` with the original error.
    """
    discarded = failure.type in (DISCARD_ERROR, ACTOR_ERROR)
    if not has_on_error or failure.type in (ACTOR_ERROR, UNAVAILABLE_ERROR):
        return unhandled(failure)
    while True:
        try:
            result = await execute_action(naming.RUN_ON_ERROR, request, retry)
        except ActivityError:
            return Outcome("discarded", failure.attempt, failure, "on_error_failed")
        if result.status != "locked":
            break
        await workflow.sleep(LOCK_RETRY)
    if result.status != "succeeded" or discarded:
        return unhandled(failure)
    if on_error_fails_job:
        return Outcome("failed", failure.attempt, failure)
    return Outcome("errored_handled", failure.attempt, failure)
