"""Cutting messages to a few KB, and the failures that carry them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ember.activities.messages import MESSAGE_LIMIT, TYPE_LIMIT, cut, describe
from ember.activities.types import FailureInfo


def size(text: str) -> int:
    return len(text.encode("utf-8", "replace"))


def test_a_message_that_fits_is_kept_whole() -> None:
    assert cut("x" * MESSAGE_LIMIT) == "x" * MESSAGE_LIMIT


def test_a_long_message_keeps_its_start_and_says_how_long_it_was() -> None:
    message = cut("boom " + "x" * 3 * 1024 * 1024)
    assert message.startswith("boom xxx")
    assert message.endswith(f"… [cut: {5 + 3 * 1024 * 1024} bytes]")
    assert size(message) <= MESSAGE_LIMIT


@given(st.text(min_size=0, max_size=3000), st.integers(min_value=64, max_value=5000))
def test_a_cut_message_fits_its_limit_and_cutting_again_changes_nothing(
    text: str, limit: int
) -> None:
    once = cut(text, limit)
    assert size(once) <= limit
    assert cut(once, limit) == once
    if size(text) <= limit:
        assert once == text
    else:
        kept = once[: once.rindex("… [cut: ")]
        assert text.startswith(kept)  # never half a character


def test_describe_names_an_error_without_a_message() -> None:
    assert describe(KeyError()) == "KeyError"
    assert describe(ValueError("bad")) == "bad"


def test_a_failure_cuts_its_type_and_message_wherever_it_is_built() -> None:
    failure = FailureInfo("T" * 1000, "m" * 100_000, 1)
    assert size(failure.type) <= TYPE_LIMIT and failure.type.startswith("TTT")
    assert failure.message.endswith("… [cut: 100000 bytes]")
