"""After the last failed attempt: the compensating on_error, and the outcome it leads to."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from temporalio import workflow
from temporalio.exceptions import ActivityError

from ember.activities.types import (
    ACTOR_ERROR,
    DISCARD_ERROR,
    FORBIDDEN_ERROR,
    UNAVAILABLE_ERROR,
    ActionRequest,
    FailureInfo,
    Outcome,
    RetrySpec,
)
from ember.registry import naming
from ember.registry.control import snooze_wait
from ember.workflows.attempts import LOCK_RETRY, execute_action

# Failures that end the run ``discarded``; those not acted on behalf of anyone skip on_error.
DISCARDING = (DISCARD_ERROR, ACTOR_ERROR, FORBIDDEN_ERROR)
NO_ON_ERROR = (ACTOR_ERROR, FORBIDDEN_ERROR, UNAVAILABLE_ERROR)
# on_error may snooze this many times; one more snooze ends the run as if it had none.
ON_ERROR_SNOOZES = 20


def unhandled(failure: FailureInfo) -> Outcome:
    """The outcome of a failure nothing handled: ``discarded`` with its reason, or ``failed``.

    Outages that outlasted their retries (``ember.Unavailable``) end ``failed``.
    """
    if failure.type in DISCARDING:
        return Outcome("discarded", failure.attempt, failure, failure.message)
    return Outcome("failed", failure.attempt, failure)


async def _sleep(seconds: float) -> None:
    await workflow.sleep(snooze_wait(seconds))


async def compensate(
    failure: FailureInfo,
    request: ActionRequest,
    *,
    has_on_error: bool,
    on_error_fails_job: bool,
    retry: RetrySpec,
    snooze: Callable[[float], Awaitable[None]] = _sleep,
) -> Outcome:
    """Run on_error (once; lock waits and outages repeat it) and say how the run ends.

    A discard stays ``discarded``; an unknown actor and a policy's denial skip
    on_error (it would act as nobody, or as the actor just refused), and so does an
    outage that outlasted its retries (the record is not at fault); an on_error
    that fails ends ``discarded`` with the original error. An on_error that
    snoozes is run again after ``snooze(seconds)`` (at most ``ON_ERROR_SNOOZES``
    times); one that finds its row no longer matching (or cancels) ends ``cancelled``.
    """
    discarded = failure.type in DISCARDING
    if not has_on_error or failure.type in NO_ON_ERROR:
        return unhandled(failure)
    snoozes = 0
    while True:
        try:
            result = await execute_action(naming.RUN_ON_ERROR, request, retry)
        except ActivityError:
            return Outcome("discarded", failure.attempt, failure, "on_error_failed")
        if result.status == "locked":
            await workflow.sleep(LOCK_RETRY)
        elif result.status == "snoozed" and snoozes < ON_ERROR_SNOOZES:
            snoozes += 1
            await snooze(result.snooze_seconds)
        else:
            break
    if result.status == "cancelled" and not discarded:
        return Outcome("cancelled", failure.attempt, failure, result.reason)
    if result.status != "succeeded" or discarded:
        return unhandled(failure)
    if on_error_fails_job:
        return Outcome("failed", failure.attempt, failure)
    return Outcome("errored_handled", failure.attempt, failure)
