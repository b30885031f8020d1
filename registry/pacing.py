"""Retry delays and attempt time limits, each fixed or a function of the attempt number.

A function cannot travel into a workflow, so the worker evaluates it: an attempt's
limit when the attempt starts, and the delay after a failed attempt when it fails
(Temporal's ``next_retry_delay``). Runs start with the longest limit any attempt
has, as the bound the Temporal server enforces.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from ember.registry.errors import Problem
from ember.registry.options import AttemptDuration, Backoff


def attempt_timeout(timeout: timedelta | AttemptDuration, attempt: int) -> timedelta:
    """Attempt ``attempt``'s time limit (1-based)."""
    return timeout if isinstance(timeout, timedelta) else timeout(attempt)


def longest_timeout(timeout: timedelta | AttemptDuration, max_attempts: int) -> timedelta:
    """The longest limit of attempts 1 to ``max_attempts`` (on_error runs with the last's)."""
    if isinstance(timeout, timedelta):
        return timeout
    return max(timeout(attempt) for attempt in range(1, max_attempts + 1))


def retry_delay(backoff: timedelta | Backoff | AttemptDuration, failed: int) -> timedelta | None:
    """The function's delay after attempt ``failed`` failed; None when the backoff is a
    ``timedelta`` or ``Backoff`` (the retry policy spaces those)."""
    if isinstance(backoff, timedelta | Backoff):
        return None
    return backoff(failed)


def pacing_problems(
    path: str,
    backoff: timedelta | Backoff | AttemptDuration,
    timeout: timedelta | AttemptDuration,
    max_attempts: int,
) -> Iterator[Problem]:
    """Functions of the attempt that fail, or return no positive ``timedelta``, for an
    attempt they will be asked about (the first such attempt of each)."""
    checks = (
        ("backoff", backoff, range(1, max_attempts), "delay after attempt"),
        ("timeout", timeout, range(1, max_attempts + 1), "time limit of attempt"),
    )
    for option, function, attempts, meaning in checks:
        if isinstance(function, timedelta | Backoff):
            continue
        for attempt in attempts:
            found = _bad_result(function, attempt)
            if found is not None:
                yield Problem(
                    f"{path}.{option}",
                    f"a function returning a timedelta above 0 (the {meaning} n)",
                    f"{option}({attempt}) {found}",
                    f"make {option} return a positive timedelta for attempts 1 to {max_attempts}",
                )
                break


def _bad_result(function: AttemptDuration, attempt: int) -> str | None:
    """What is wrong with ``function(attempt)``, or None."""
    try:
        value = function(attempt)
    except Exception as error:
        return f"raising {type(error).__name__}: {error}"
    if not isinstance(value, timedelta):
        return f"returning {value!r}"
    if value <= timedelta(0):
        return f"returning {value}"
    return None
