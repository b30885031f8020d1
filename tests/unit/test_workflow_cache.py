"""How many runs a worker keeps cached per queue (``EMBER_WORKFLOW_CACHE_SIZE``)."""

from __future__ import annotations

import pytest

from ember.workflows.settings import Settings


@pytest.mark.parametrize(
    ("largest_chunk", "expected"),
    [(None, 1000), (10, 1000), (100, 500), (500, 100), (10_000, 10)],
)
def test_the_default_bounds_the_records_a_chunk_queue_caches(
    largest_chunk: int | None, expected: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EMBER_WORKFLOW_CACHE_SIZE", raising=False)
    assert Settings().workflow_cache(largest_chunk) == expected


@pytest.mark.parametrize("largest_chunk", [None, 500])
def test_a_set_cache_size_holds_for_every_queue(
    largest_chunk: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMBER_WORKFLOW_CACHE_SIZE", "0")
    assert Settings().workflow_cache(largest_chunk) == 0


def test_a_negative_cache_size_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBER_WORKFLOW_CACHE_SIZE", "-1")
    with pytest.raises(ValueError, match="greater than or equal to 0"):
        Settings()
