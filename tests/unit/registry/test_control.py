"""Snooze, Cancel and Discard: how an action ends a run other than by returning."""

from __future__ import annotations

from datetime import timedelta

import pytest

from registry import Cancel, Discard, Snooze


@pytest.mark.parametrize(
    ("given", "seconds"),
    [(60, 60.0), (1.5, 1.5), (0, 0.0), (timedelta(minutes=2), 120.0)],
)
def test_snooze_takes_seconds_or_a_timedelta(given: float | timedelta, seconds: float) -> None:
    snooze = Snooze(given)
    assert snooze.seconds == seconds
    assert isinstance(snooze.seconds, float)
    assert str(snooze) == f"snoozed for {seconds:g}s"


@pytest.mark.parametrize("given", [-1, timedelta(seconds=-5)])
def test_snooze_rejects_negative_durations(given: float | timedelta) -> None:
    with pytest.raises(ValueError, match=r"Snooze expects seconds >= 0, found -"):
        Snooze(given)


def test_snooze_can_be_raised_or_returned() -> None:
    with pytest.raises(Snooze) as raised:
        raise Snooze(30)
    assert raised.value.seconds == 30.0
    assert isinstance(Snooze(30), Exception)


def test_cancel_and_discard_carry_a_reason() -> None:
    assert Cancel().reason == str(Cancel()) == "cancelled"
    assert Discard().reason == str(Discard()) == "discarded"
    assert Cancel("customer withdrew").reason == str(Cancel("customer withdrew"))
    assert Discard("bad data").reason == "bad data"


def test_the_three_outcomes_are_distinct() -> None:
    kinds = (Snooze, Cancel, Discard)
    for kind in kinds:
        others = tuple(k for k in kinds if k is not kind)
        assert not issubclass(kind, others)
    with pytest.raises(Cancel):
        try:
            raise Cancel("stop")
        except Discard:  # pragma: no cover - must not catch a Cancel
            pytest.fail("a Cancel was caught as a Discard")
