"""What a drain's scan keeps of the runs it started: keys by tenant, within a size limit."""

from __future__ import annotations

import pytest

import ember.activities.scan_types as activities_scan_types
from ember.activities.scan_types import CollectedRuns, TenantRuns


def test_pages_of_one_tenant_merge_and_a_new_tenant_starts_its_own_entry() -> None:
    collected = CollectedRuns()
    collected.add(TenantRuns("acme", records=["1", "2"]))
    collected.add(TenantRuns("acme", records=["3"], chunks=[["4", "9"]]))
    collected.add(TenantRuns(None, records=["1"]))
    assert collected.tenants == [
        TenantRuns("acme", records=["1", "2", "3"], chunks=[["4", "9"]]),
        TenantRuns(None, records=["1"]),
    ]
    assert collected.size == 6 * 5 and not collected.overflowed


def test_past_the_limit_nothing_more_is_kept_and_the_overflow_is_noted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(activities_scan_types, "COLLECT_LIMIT", 12)
    collected = CollectedRuns()
    collected.add(TenantRuns("acme", records=["1", "2"]))
    collected.add(TenantRuns("acme", records=["3"]))
    collected.add(TenantRuns("globex", records=["4"]))
    assert collected.overflowed
    assert collected.tenants == [TenantRuns("acme", records=["1", "2"])]
