"""Every activity of a worker, bound to its runtime."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ember.activities.bulk import BulkActivities
from ember.activities.chunk import ChunkActivities
from ember.activities.failures import drop_sdk_failure_warnings
from ember.activities.runtime import WorkerRuntime
from ember.activities.scan import ScanActivities
from ember.activities.scheduled import ScheduledActivities
from ember.activities.trigger_action import TriggerActivities


def bound_activities(runtime: WorkerRuntime) -> list[Callable[..., Any]]:
    """The activity callables a worker registers (their failures are logged once)."""
    drop_sdk_failure_warnings()
    records = TriggerActivities(runtime)
    scans = ScanActivities(runtime)
    scheduled = ScheduledActivities(runtime)
    chunks = ChunkActivities(records)
    return [
        records.run_trigger_action,
        chunks.run_trigger_chunk,
        records.run_on_error,
        scans.list_tenants,
        scans.scan_and_dispatch,
        scheduled.run_scheduled_action,
        *bulk_activities(runtime),
    ]


def bulk_activities(runtime: WorkerRuntime) -> list[Callable[..., Any]]:
    """The bulk chunk activities (triggers whose action is a bulk action)."""
    bulk = BulkActivities(runtime)
    return [bulk.run_bulk_chunk, bulk.run_bulk_on_error]
