"""What one contender's run measured, and how the numbers are derived.

Definitions (all clocks are this machine's wall clock, in epoch seconds):

- ``t0`` is the moment the contender is asked to start: the scan is requested (Ember),
  the client loop begins with its one ``SELECT`` of matching ids (hand-written Temporal,
  procrastinate, the per-row loop) or the ``UPDATE`` is sent (single statement).
- records/s is N / (last ``processed_at`` - ``t0``): first scan to last commit.
- *start* latency is when each record's run was durably created, minus ``t0``: the
  record workflow's start time (Ember per record, hand-written Temporal), its chunk
  workflow's (Ember chunked), the job's ``deferred`` event (procrastinate), the row's
  transaction start (the floor, which has nothing to queue).
- *act* latency is when each record's action transaction began (``now()`` in it), minus
  ``t0``: how long a matching record really waited, the same for every contender.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client

from ember.activities.attributes import RECORD_KEY


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile (``fraction`` in 0..1) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Latency:
    """p50 and p99 of a latency, in milliseconds."""

    p50_ms: float | None = None
    p99_ms: float | None = None

    @classmethod
    def of_seconds(cls, values: Iterable[float]) -> Latency:
        """From latencies in seconds (negative clock noise reads 0)."""
        ms = [max(value, 0.0) * 1000 for value in values]
        return cls(percentile(ms, 0.5), percentile(ms, 0.99))


@dataclass
class Result:
    """One contender at one N."""

    contender: str
    rows: int
    seconds: float
    records_per_s: float
    start: Latency = field(default_factory=Latency)
    act: Latency = field(default_factory=Latency)
    peak_rss_mb: float | None = None
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    exactly_once: bool = True
    settings: str = ""
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self)


def rate(rows: int, t0: float, last_commit: float | None) -> tuple[float, float]:
    """(seconds, records/s) from ``t0`` to the last commit."""
    if last_commit is None or rows == 0:
        return 0.0, 0.0
    seconds = max(last_commit - t0, 1e-9)
    return seconds, rows / seconds


def epoch(moment: datetime) -> float:
    """A timezone-aware datetime as epoch seconds."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


async def workflow_starts(
    client: Client, workflow_type: str, since: float, expected: int, *, attempts: int = 50
) -> list[tuple[str, str, float]]:
    """(workflow id, EmberRecord attribute or "", start epoch) of every ``workflow_type`` run
    started at or after ``since``, once visibility lists ``expected`` of them."""
    stamp = datetime.fromtimestamp(since - 0.001, UTC).isoformat().replace("+00:00", "Z")
    query = f"WorkflowType = '{workflow_type}' AND StartTime >= '{stamp}'"
    found: list[tuple[str, str, float]] = []
    for _ in range(attempts):
        found = []
        async for execution in client.list_workflows(query, page_size=1000):
            record = execution.typed_search_attributes.get(RECORD_KEY) or ""
            found.append((execution.id, record, epoch(execution.start_time)))
        if len(found) >= expected:
            break
        await asyncio.sleep(0.2)
    return found
