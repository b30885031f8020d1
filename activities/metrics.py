"""Ember's own metrics, exported with the Temporal SDK's (Prometheus via EMBER_METRICS_BIND).

| metric | kind | attributes |
|---|---|---|
| ``ember_runs`` | counter | trigger, outcome |
| ``ember_records_scanned`` | counter | trigger |
| ``ember_scan_page_duration`` | histogram (ms) | trigger |
| ``ember_scan_to_start_latency`` | histogram (ms) | trigger |
| ``ember_outbox_lag`` | histogram (ms) | trigger |
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import MetricMeter

RUNS = "ember_runs"
RECORDS_SCANNED = "ember_records_scanned"
SCAN_PAGE_DURATION = "ember_scan_page_duration"
SCAN_TO_START = "ember_scan_to_start_latency"
OUTBOX_LAG = "ember_outbox_lag"


def count_runs(meter: MetricMeter, trigger: str, outcome: str, runs: int = 1) -> None:
    """Count finished record runs by trigger and outcome."""
    meter.create_counter(RUNS, "finished record runs", "runs").add(
        runs, {"trigger": trigger, "outcome": outcome}
    )


def record_scan_page(meter: MetricMeter, trigger: str, duration: timedelta, records: int) -> None:
    """One scan page: how long it took and how many records it dispatched."""
    attributes = {"trigger": trigger}
    meter.create_histogram_timedelta(SCAN_PAGE_DURATION, "scan page duration", "ms").record(
        duration, attributes
    )
    meter.create_counter(RECORDS_SCANNED, "records dispatched by scans", "records").add(
        records, attributes
    )


def record_latency(meter: MetricMeter, metric: str, trigger: str, latency: timedelta) -> None:
    """A latency (scan-to-start, outbox lag) for ``trigger``; negative clock skew reads 0."""
    meter.create_histogram_timedelta(metric, metric.replace("_", " "), "ms").record(
        max(latency, timedelta(0)), {"trigger": trigger}
    )
