"""The outbox relay's wait between failed starts of a row."""

from __future__ import annotations

from datetime import timedelta

from ember.activities.outbox import MAX_RETRY_DELAY, retry_delay
from ember.registry.tables import OUTBOX_MAX_ATTEMPTS


def test_the_wait_doubles_from_two_seconds_up_to_five_minutes() -> None:
    waits = [retry_delay(failures) for failures in range(1, OUTBOX_MAX_ATTEMPTS)]
    assert waits[:4] == [timedelta(seconds=s) for s in (2, 4, 8, 16)]
    assert waits[-1] == MAX_RETRY_DELAY == timedelta(minutes=5)
    assert waits == sorted(waits)


def test_a_dead_letter_is_reached_after_about_a_quarter_of_an_hour() -> None:
    total = sum((retry_delay(f) for f in range(1, OUTBOX_MAX_ATTEMPTS)), timedelta())
    assert timedelta(minutes=10) < total < timedelta(minutes=30), total
