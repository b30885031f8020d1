"""Tenants a page at a time: pages bounded in names and bytes, every tenant once."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ember.activities.tenants import tenant_page
from ember.activities.types import Outcome, ScheduledOutcome


def test_pages_are_in_name_order_without_duplicates_and_say_where_the_next_starts() -> None:
    names = ["globex", "acme", "initech", "acme", "umbrella"]
    assert tenant_page(names, None, count=2) == (["acme", "globex"], "globex")
    assert tenant_page(names, "globex", count=2) == (["initech", "umbrella"], None)
    assert tenant_page(names, "umbrella", count=2) == ([], None)
    assert tenant_page([], None) == ([], None)


def test_a_page_stops_at_its_byte_size_but_always_holds_one_name() -> None:
    names = [f"{letter * 100}" for letter in "abcde"]
    page, after = tenant_page(names, None, size=250)
    assert page == names[:2] and after == names[1]
    assert tenant_page(names, None, size=10) == (names[:1], names[0])


@given(
    names=st.lists(st.none() | st.text(max_size=6), max_size=40),
    count=st.integers(min_value=1, max_value=7),
    size=st.integers(min_value=1, max_value=40),
)
def test_paging_to_the_end_gives_every_tenant_once(
    names: list[str | None], count: int, size: int
) -> None:
    seen: list[str | None] = []
    after: str | None = None
    for _ in range(len(names) + 1):
        page, after = tenant_page(names, after, count=count, size=size)
        named = [name for name in page if name is not None]
        assert (len(page) >= 1 and len(named) <= count) or not names
        seen += page
        if after is None:
            break
    assert after is None
    assert seen == [None] * (None in names) + sorted({n for n in names if n is not None})


def test_a_scheduled_outcome_counts_every_tenant_and_keeps_outcomes_up_to_its_limit() -> None:
    result = ScheduledOutcome()
    for i in range(3000):
        result.add(f"tenant-{i:04d}" + "x" * 100, Outcome("succeeded", 1))
    assert result.counts == {"succeeded": 3000}
    assert 0 < len(result.outcomes) < 3000
    assert len(result.outcomes) + result.omitted == 3000
