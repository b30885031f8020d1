"""An attempt's time limit, as the action's transaction sees it: no commit once it is up."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from temporalio import activity

from ember.registry.errors import EmberError


class AttemptTimedOut(EmberError):
    """The attempt ran out of time (or its caller gave up on it); nothing it did was committed."""

    def __init__(self, seconds: float | None) -> None:
        limit = "its limit" if seconds is None else f"{seconds:g}s"
        super().__init__(f"attempt exceeded {limit}")


class Deadline:
    """When one attempt's time is up, and whether its transaction may still commit.

    Thread-safe: a plain ``def`` action's transaction runs on a thread of its own, and
    its caller may give up on it (``abandon``) while it runs.
    """

    def __init__(self, seconds: float | None, elapsed: float = 0.0) -> None:
        self.seconds = seconds
        self._at = None if seconds is None else time.monotonic() + seconds - elapsed
        self._lock = threading.Lock()
        self._state = "running"  # then "committing" or "abandoned", never both
        self.action_seconds: float | None = None

    @classmethod
    def of_activity(cls, within: timedelta | None = None) -> Deadline:
        """The running activity's: its start-to-close timeout, counted from when the
        Temporal server started the attempt (which is when the server starts counting).

        ``within`` is the action's own limit: it runs from ``start_action`` (once the
        transaction has its connection), so a wait for the pool is no part of it.
        """
        info = activity.info()
        limit = info.start_to_close_timeout
        elapsed = (datetime.now(UTC) - info.started_time).total_seconds()
        deadline = cls(None if limit is None else limit.total_seconds(), max(elapsed, 0.0))
        deadline.action_seconds = None if within is None else within.total_seconds()
        return deadline

    def start_action(self) -> None:
        """Start the action's clock: the deadline becomes the sooner of the activity's
        and ``action_seconds`` from now."""
        if self.action_seconds is None:
            return
        at = time.monotonic() + self.action_seconds
        with self._lock:
            self._at = at if self._at is None else min(self._at, at)
            self.seconds = self.action_seconds

    def remaining(self) -> float | None:
        """Seconds left (None: no limit)."""
        return None if self._at is None else self._at - time.monotonic()

    def check(self) -> None:
        """Raise AttemptTimedOut if the time is up or the attempt was abandoned."""
        remaining = self.remaining()
        if self._state == "abandoned" or (remaining is not None and remaining <= 0):
            raise AttemptTimedOut(self.seconds)

    def begin_commit(self) -> None:
        """Claim the right to commit; raise AttemptTimedOut when it is too late."""
        with self._lock:
            self.check()
            self._state = "committing"

    def abandon(self) -> bool:
        """Forbid the commit; False when it has already begun (its result then stands)."""
        with self._lock:
            if self._state == "committing":
                return False
            self._state = "abandoned"
            return True

    @asynccontextmanager
    async def enforced(self) -> AsyncIterator[None]:
        """Cancel the block when the time is up, raising AttemptTimedOut."""
        try:
            async with asyncio.timeout(self.remaining()) as scope:
                yield
        except TimeoutError:
            if scope.expired():
                raise AttemptTimedOut(self.seconds) from None
            raise
