"""A failed attempt's retry delay, when the declaration's ``backoff`` is a function."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import timedelta

from temporalio.exceptions import ApplicationError

from ember.activities.types import ActionResult
from ember.registry import Backoff
from ember.registry.options import AttemptDuration
from ember.registry.pacing import retry_delay


async def paced(
    settling: Awaitable[ActionResult],
    backoff: timedelta | Backoff | AttemptDuration,
    attempt: int,
) -> ActionResult:
    """``settling``'s result; a retryable failure of attempt ``attempt`` carries the
    function's delay as ``next_retry_delay``, which Temporal waits instead of the policy's.
    """
    try:
        return await settling
    except ApplicationError as error:
        delay = retry_delay(backoff, attempt)
        if delay is None or error.non_retryable:
            raise
        raise ApplicationError(
            error.message, *error.details, type=error.type, next_retry_delay=delay
        ) from error.__cause__
