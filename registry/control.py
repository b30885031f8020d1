"""How an action ends a run other than by returning: snooze, cancel or discard."""

from __future__ import annotations

from datetime import timedelta

from registry.errors import EmberError, InvalidArgument


class Snooze(EmberError):
    """Run the action again after ``seconds``, without using an attempt.

    An action may ``return Snooze(60)`` or ``raise Snooze(60)``; either way its
    transaction is rolled back and the run sleeps durably.
    """

    def __init__(self, seconds: float | timedelta) -> None:
        self.seconds = seconds.total_seconds() if isinstance(seconds, timedelta) else float(seconds)
        if self.seconds < 0:
            raise InvalidArgument(f"Snooze expects seconds >= 0, found {self.seconds}")
        super().__init__(f"snoozed for {self.seconds:g}s")


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
