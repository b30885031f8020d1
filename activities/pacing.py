"""A failed attempt's retry delay, when the declaration's ``backoff`` is a function.

The workflow waits between attempts; it cannot call the declaration's function, so
the attempt that failed works the delay out and carries it as its failure's third
detail (after the attempt and the ``ACTION_FAILURE`` mark).
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import timedelta

from temporalio.exceptions import ApplicationError

from ember.activities.types import ActionResult, action_failed
from ember.registry import Backoff
from ember.registry.options import AttemptDuration
from ember.registry.pacing import retry_delay


async def paced(
    settling: Awaitable[ActionResult],
    backoff: timedelta | Backoff | AttemptDuration,
    attempt: int,
) -> ActionResult:
    """``settling``'s result; a failure of the action on attempt ``attempt`` carries the
    function's delay (in seconds), which the workflow waits instead of the policy's."""
    try:
        return await settling
    except ApplicationError as error:
        delay = retry_delay(backoff, attempt)
        if delay is None or not action_failed(error.details):
            raise
        paced_error = type(error)(
            error.message,
            *error.details[:2],
            delay.total_seconds(),
            type=error.type,
            non_retryable=error.non_retryable,
        )
        raise paced_error.with_traceback(error.__traceback__) from None
