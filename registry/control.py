"""How an action ends a run other than by returning: snooze, cancel or discard."""

from __future__ import annotations

import math
from datetime import timedelta

from ember.registry.errors import EmberError, InvalidArgument

MAX_SNOOZE = timedelta(days=36500)  # 100 years: beyond any use, inside a timer (292 years)


class Snooze(EmberError):
    """Run the action again after ``seconds``, without using an attempt.

    An action may ``return Snooze(60)`` or ``raise Snooze(60)``; either way its
    transaction is rolled back and the run sleeps durably. ``seconds`` must be
    finite, at least 0 and at most ``MAX_SNOOZE``: anything else is a ValueError here.
    """

    def __init__(self, seconds: float | timedelta) -> None:
        found = seconds.total_seconds() if isinstance(seconds, timedelta) else float(seconds)
        if not 0 <= found <= MAX_SNOOZE.total_seconds():  # also false for NaN
            raise InvalidArgument(
                f"Snooze expects a finite duration from 0 to {MAX_SNOOZE.total_seconds():.0f}s "
                f"(100 years), found {found}s; fix: snooze for a finite, non-negative time"
            )
        self._seconds = found
        super().__init__(f"snoozed for {found:g}s")

    @property
    def seconds(self) -> float:
        """How long to sleep before the next run of the action."""
        return self._seconds


def snooze_wait(seconds: float) -> float:
    """``seconds`` as a timer a workflow can start: NaN → 0, else clamped to [0, MAX_SNOOZE].

    ``Snooze`` refuses such values; this keeps a result from elsewhere (an older
    worker's history) from failing the workflow task forever.
    """
    if math.isnan(seconds):
        return 0.0
    return min(max(seconds, 0.0), MAX_SNOOZE.total_seconds())


class Cancel(EmberError):
    """End the run ``cancelled``: no retry, no on_error; the transaction rolls back."""

    def __init__(self, reason: str = "cancelled") -> None:
        self.reason = reason
        super().__init__(reason)


class Discard(EmberError):
    """End the run ``discarded`` at once: no retry; on_error runs; the transaction rolls back."""

    def __init__(self, reason: str = "discarded") -> None:
        self.reason = reason
        super().__init__(reason)
