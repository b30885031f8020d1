"""Running an activity the way Ember counts attempts: snoozes and lock waits are free."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError

from ember.activities.types import (
    ACTOR_ERROR,
    DISCARD_ERROR,
    TIMEOUT_ERROR,
    ActionResult,
    FailureInfo,
    RetrySpec,
)

LOCK_RETRY = timedelta(seconds=1)
# A local activity's retries wait in durable timers (not in the worker's memory) beyond
# this, so a worker that dies mid-backoff loses no attempt count.
LOCAL_RETRY_THRESHOLD = timedelta(milliseconds=1)


def retry_policy(retry: RetrySpec, attempts_used: int) -> RetryPolicy:
    """Temporal's retry policy for the attempts that remain."""
    return RetryPolicy(
        initial_interval=timedelta(seconds=retry.initial_seconds),
        backoff_coefficient=retry.coefficient,
        maximum_interval=timedelta(seconds=retry.maximum_seconds),
        maximum_attempts=max(1, retry.max_attempts - attempts_used),
        non_retryable_error_types=[DISCARD_ERROR, ACTOR_ERROR],
    )


async def run_attempts(
    activity: str,
    request_for: Callable[[int], Any],
    retry: RetrySpec,
    attempts_used: int,
    snooze: Callable[[float, int], Awaitable[None]],
) -> ActionResult:
    """Run ``activity`` until it succeeds or is cancelled; snoozes and lock waits repeat it.

    ``request_for(attempts_used)`` builds the activity input;
    ``snooze(seconds, attempts_used)`` waits out a snooze. Raises
    ActivityError when the last attempt failed.
    """
    while True:
        result = await execute_action(
            activity, request_for(attempts_used), retry, retry_policy(retry, attempts_used)
        )
        if result.status in ("succeeded", "cancelled"):
            return result
        attempts_used = result.attempt - 1
        if result.status == "snoozed":
            await snooze(result.snooze_seconds, attempts_used)
        else:
            await workflow.sleep(LOCK_RETRY)


async def execute_action(
    activity: str, request: Any, retry: RetrySpec, policy: RetryPolicy
) -> ActionResult:
    """One action activity, local when the trigger says ``local_activity``.

    Raises:
        ActivityError: the last attempt failed (its cause says why), either way.
    """
    timeout = timedelta(seconds=retry.timeout_seconds)
    result: ActionResult
    if retry.local_activity:
        try:
            result = await workflow.execute_local_activity(
                activity,
                request,
                result_type=ActionResult,
                start_to_close_timeout=timeout,
                retry_policy=policy,
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
            retry_policy=policy,
        )
    return result


def failure_of(error: ActivityError, retry: RetrySpec) -> FailureInfo:
    """The type, message and attempt of the failure that ended the attempts."""
    cause = error.cause
    if isinstance(cause, ApplicationError):
        attempt = cause.details[0] if cause.details else retry.max_attempts
        return FailureInfo(cause.type or "ApplicationError", cause.message, int(attempt))
    if isinstance(cause, TimeoutError):
        return FailureInfo(
            TIMEOUT_ERROR, f"attempt exceeded {retry.timeout_seconds:g}s", retry.max_attempts
        )
    return FailureInfo(type(cause).__name__, str(cause or error), retry.max_attempts)
