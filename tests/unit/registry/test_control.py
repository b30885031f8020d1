"""Snooze, Cancel and Discard: how an action ends a run other than by returning."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ember.registry import Cancel, Discard, Snooze
from ember.registry.control import MAX_SNOOZE, snooze_wait


@pytest.mark.parametrize(
    ("given", "seconds"),
    [(60, 60.0), (1.5, 1.5), (0, 0.0), (timedelta(minutes=2), 120.0)],
)
def test_snooze_takes_seconds_or_a_timedelta(given: float | timedelta, seconds: float) -> None:
    snooze = Snooze(given)
    assert snooze.seconds == seconds
    assert isinstance(snooze.seconds, float)
    assert str(snooze) == f"snoozed for {seconds:g}s"


@pytest.mark.parametrize(
    ("given", "found"),
    [
        (-1, "-1.0s"),
        (timedelta(seconds=-5), "-5.0s"),
        (float("nan"), "nans"),
        (float("inf"), "infs"),
        (float("-inf"), "-infs"),
        (MAX_SNOOZE + timedelta(seconds=1), "3153600001.0s"),
        (1e15, "1000000000000000.0s"),
    ],
)
def test_snooze_refuses_durations_a_workflow_timer_cannot_hold(
    given: float | timedelta, found: str
) -> None:
    with pytest.raises(ValueError) as refused:
        Snooze(given)
    assert str(refused.value) == (
        "Snooze expects a finite duration from 0 to 3153600000s (100 years), "
        f"found {found}; fix: snooze for a finite, non-negative time"
    )


def test_snooze_allows_up_to_its_maximum_and_its_seconds_cannot_be_changed() -> None:
    assert Snooze(MAX_SNOOZE).seconds == MAX_SNOOZE.total_seconds()
    with pytest.raises(AttributeError):
        Snooze(1).seconds = float("nan")  # type: ignore[misc]


@pytest.mark.parametrize(
    ("seconds", "wait"),
    [
        (30.0, 30.0),
        (0.0, 0.0),
        (float("nan"), 0.0),
        (-3.0, 0.0),
        (float("-inf"), 0.0),
        (float("inf"), MAX_SNOOZE.total_seconds()),
        (1e300, MAX_SNOOZE.total_seconds()),
    ],
)
def test_snooze_wait_gives_workflows_a_timer_they_can_start(seconds: float, wait: float) -> None:
    assert snooze_wait(seconds) == wait


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
