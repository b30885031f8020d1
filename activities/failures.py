"""One log line per failed attempt: Ember's own, with a traceback only when asked.

The Temporal SDK logs every failed activity as a warning with its traceback; for the
failures Ember has reported itself (``LoggedFailure``) that warning is dropped, so a
worker's log holds one line per failed attempt.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from temporalio.exceptions import ApplicationError

from ember.registry import EmberError

logger = logging.getLogger("ember.activities")

OnFailure = Callable[[BaseException, bool], None]
"""Told of an attempt's error, and whether it is an outcome Ember decided (a policy's
denial, an unknown actor, a ``Discard``) rather than an error of the action."""


class LoggedFailure(ApplicationError, EmberError):
    """An attempt's failure Ember has reported itself (or was told not to log)."""


def log_failure(
    subject: str,
    attempt: int,
    max_attempts: int,
    error: BaseException,
    *,
    decided: bool,
    debug: bool = False,
) -> None:
    """Log ``subject``'s failed attempt on one line: the error's type and message.

    The traceback follows with ``debug`` (a trigger's ``debug=True``) or when the log
    shows debug records (``--debug``); never for an outcome Ember ``decided``.
    """
    traceback = not decided and (debug or logger.isEnabledFor(logging.DEBUG))
    logger.warning(
        "ember: %s %s on attempt %d of %d: %s: %s",
        subject,
        "was discarded" if decided else "failed",
        attempt,
        max_attempts,
        type(error).__name__,
        error,
        exc_info=error if traceback else None,
    )


class _DropLoggedFailures(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, LoggedFailure)


def drop_sdk_failure_warnings() -> None:
    """Drop the SDK's warning for the failures Ember logs itself (once per process)."""
    sdk = logging.getLogger("temporalio.activity")
    if not any(isinstance(f, _DropLoggedFailures) for f in sdk.filters):
        sdk.addFilter(_DropLoggedFailures())
