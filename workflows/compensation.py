"""After the last failed attempt: the compensating on_error, and the outcome it leads to."""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from activities.types import (
    ACTOR_ERROR,
    DISCARD_ERROR,
    FORBIDDEN_ERROR,
    ActionRequest,
    FailureInfo,
    Outcome,
    RetrySpec,
)
from registry import naming
from workflows.attempts import LOCK_RETRY, execute_action

# Failures that end the run ``discarded``; those not acted on behalf of anyone skip on_error.
DISCARDING = (DISCARD_ERROR, ACTOR_ERROR, FORBIDDEN_ERROR)
NO_ON_ERROR = (ACTOR_ERROR, FORBIDDEN_ERROR)


def unhandled(failure: FailureInfo) -> Outcome:
    """The outcome of a failure nothing handled: ``discarded`` with its reason, or ``failed``."""
    if failure.type in DISCARDING:
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
    """Run on_error (once; lock waits repeat it) and say how the run ends.

    A discard stays ``discarded``; an unknown actor and a policy's denial skip
    on_error (it would act as nobody, or as the actor just refused); an on_error
    that fails ends ``discarded`` with the original error.
    """
    discarded = failure.type in DISCARDING
    if not has_on_error or failure.type in NO_ON_ERROR:
        return unhandled(failure)
    while True:
        try:
            result = await execute_action(
                naming.RUN_ON_ERROR, request, retry, RetryPolicy(maximum_attempts=1)
            )
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
