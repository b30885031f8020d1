"""Running an activity the way Ember counts attempts: only the action's own failures count.

Each action attempt is one activity execution. A failure of the action (its exception,
its statements rejected, its ``timeout`` passed) comes back non-retryable and marked
(``action_failed``): the workflow counts it and, while attempts remain, runs the
action again after the trigger's backoff. Snoozes and lock waits come back as results
and use no attempt. Everything else is an outage and Temporal retries the activity
(``OUTAGE_RETRY``) without using an attempt: the database unreachable or the pool
exhausted (the activity raises it retryable), the worker lost or its report not
recorded (Temporal's start-to-close timeout, which the activity's own clock for the
action always beats by ``ACTIVITY_GRACE``). When those retries run out the run ends
``failed`` with an ``ember.Unavailable`` error and on_error does not run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError

from ember.activities.types import (
    UNAVAILABLE_ERROR,
    ActionResult,
    FailureInfo,
    RetrySpec,
    action_failed,
    retry_delay_of,
)

LOCK_RETRY = timedelta(seconds=1)
# A local activity's retries wait in durable timers (not in the worker's memory) beyond
# this, so a worker that dies mid-backoff loses no attempt count.
LOCAL_RETRY_THRESHOLD = timedelta(milliseconds=1)
# An activity's start-to-close timeout beyond the action's own ``timeout``: time for the
# pool, the connect, the row lock and the commit, which the action's clock leaves out.
ACTIVITY_GRACE = timedelta(seconds=30)
OUTAGE_TRIES = 30
OUTAGE_INITIAL = timedelta(seconds=1)
OUTAGE_MAXIMUM = timedelta(minutes=1)
OUTAGE_RETRY = RetryPolicy(
    initial_interval=OUTAGE_INITIAL,
    backoff_coefficient=2.0,
    maximum_interval=OUTAGE_MAXIMUM,
    maximum_attempts=OUTAGE_TRIES,
)
"""Temporal's retries of an activity hit by an outage: 1 s, 2 s, 4 s … 1 min, 30 tries
(about 25 minutes of waiting, plus the tries themselves)."""


def backoff(retry: RetrySpec, failures: int) -> timedelta:
    """The wait before the next attempt after ``failures`` failed attempts."""
    seconds = retry.initial_seconds * retry.coefficient ** max(failures - 1, 0)
    return timedelta(seconds=min(seconds, retry.maximum_seconds))


def next_wait(error: ActivityError, retry: RetrySpec, failures: int) -> timedelta:
    """The wait before the next attempt: the delay the failed attempt carries (a
    ``backoff`` function's), else the policy's ``backoff``."""
    carried = retry_delay_of(failure_details(error))
    return backoff(retry, failures) if carried is None else timedelta(seconds=carried)


def outage_backoff(tries: int) -> timedelta:
    """The wait after ``tries`` outages in a row, as ``OUTAGE_RETRY`` spaces them."""
    seconds = OUTAGE_INITIAL.total_seconds() * 2.0 ** max(tries - 1, 0)
    return min(timedelta(seconds=seconds), OUTAGE_MAXIMUM)


def gave_up(message: str, attempts_used: int) -> FailureInfo:
    """The failure of a run whose outages outlasted ``OUTAGE_TRIES`` tries."""
    return FailureInfo(
        UNAVAILABLE_ERROR,
        f"gave up after {OUTAGE_TRIES} tries that failed through no fault of the action: {message}",
        attempts_used,
    )


async def run_attempts(
    activity: str,
    request_for: Callable[[int], Any],
    retry: RetrySpec,
    attempts_used: int,
    snooze: Callable[[float, int], Awaitable[None]],
) -> ActionResult | FailureInfo:
    """Run ``activity`` until it succeeds or is cancelled, or fail for good.

    ``request_for(attempts_used)`` builds the activity input;
    ``snooze(seconds, attempts_used)`` waits out a snooze. Returns the last result,
    or the failure that ended the attempts.
    """
    while True:
        try:
            result = await execute_action(activity, request_for(attempts_used), retry)
        except ActivityError as error:
            failure = failure_of(error, attempts_used)
            if not action_failed(failure_details(error)) or failure.attempt >= retry.max_attempts:
                return failure
            attempts_used = failure.attempt
            await workflow.sleep(next_wait(error, retry, attempts_used))
            continue
        if result.status in ("succeeded", "cancelled"):
            return result
        attempts_used = result.attempt - 1
        if result.status == "snoozed":
            await snooze(result.snooze_seconds, attempts_used)
        else:
            await workflow.sleep(LOCK_RETRY)


async def execute_action(activity: str, request: Any, retry: RetrySpec) -> ActionResult:
    """One action activity, local when the trigger says ``local_activity``; outages retried.

    Raises:
        ActivityError: the action failed, or outages outlasted the retries (its cause
            says which), either way.
    """
    timeout = timedelta(seconds=retry.timeout_seconds) + ACTIVITY_GRACE
    result: ActionResult
    if retry.local_activity:
        try:
            result = await workflow.execute_local_activity(
                activity,
                request,
                result_type=ActionResult,
                start_to_close_timeout=timeout,
                retry_policy=OUTAGE_RETRY,
                local_retry_threshold=LOCAL_RETRY_THRESHOLD,
            )
        except (ApplicationError, TimeoutError) as error:
            # A local activity's last failure arrives unwrapped; wrap it as an activity's.
            raise ActivityError(
                f"local activity {activity} failed",
                scheduled_event_id=0,
                started_event_id=0,
                identity="",
                activity_type=activity,
                activity_id="",
                retry_state=None,
            ) from error
    else:
        result = await workflow.execute_activity(
            activity,
            request,
            result_type=ActionResult,
            start_to_close_timeout=timeout,
            retry_policy=OUTAGE_RETRY,
        )
    return result


def failure_of(error: ActivityError, attempts_used: int) -> FailureInfo:
    """The type, message and attempt of the failure that ended an activity's tries.

    A non-retryable failure (the action's, a discard, an unknown actor) says its own
    attempt; anything else means outages outlasted ``OUTAGE_RETRY``: ``gave_up``.
    """
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.non_retryable:
        attempt = cause.details[0] if cause.details else attempts_used + 1
        return FailureInfo(cause.type or "ApplicationError", cause.message, int(attempt))
    if isinstance(cause, TimeoutError):
        kind = cause.type.name if cause.type is not None else "unknown"
        return gave_up(
            f"no report from the worker ({kind} timeout): it was lost or blocked, "
            "or Temporal did not record its report",
            attempts_used,
        )
    if isinstance(cause, ApplicationError):
        return gave_up(f"{cause.type}: {cause.message}", attempts_used)
    return gave_up(str(cause or error), attempts_used)


def failure_details(error: ActivityError) -> tuple[Any, ...]:
    """The details of the failure behind ``error`` (none when it has none)."""
    cause = error.cause
    return tuple(cause.details) if isinstance(cause, ApplicationError) else ()
