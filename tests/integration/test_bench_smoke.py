"""The benchmark harness itself: its Ember and floor contenders act on every row exactly once.

No performance numbers are asserted: this checks that ``bench/`` measures what it says.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from bench import ember, floor, schema
from bench.stack import Stack
from ember.workflows.testing.servers import LocalPostgres

ROWS = 50

pytestmark = pytest.mark.timeout(90)


async def test_ember_and_floor_contenders_process_every_row_exactly_once(
    local_postgres: LocalPostgres, dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    await local_postgres.drop_database("bench_smoke")
    url = await local_postgres.create_database("bench_smoke")
    stack = Stack(local_postgres, dev_env, url, database="bench_smoke")
    try:
        result, _ = await ember.measure(stack, ROWS, concurrency=10, logs=tmp_path, timeout=30)
        stats = await schema.read_stats(stack.conninfo)
        assert (stats.once, stats.more_than_once, stats.never) == (ROWS, 0, 0)
        assert result.exactly_once and result.rows == ROWS and result.records_per_s > 0
        assert result.start.p50_ms is not None  # every record workflow was found

        for kind in ("loop", "orm"):
            looped = await floor.measure(stack, ROWS, kind=kind, logs=tmp_path, timeout=30)
            stats = await schema.read_stats(stack.conninfo)
            assert (stats.once, stats.more_than_once, stats.never) == (ROWS, 0, 0), kind
            assert looped.exactly_once and looped.records_per_s > 0, kind
            assert looped.contender == f"floor-{kind}"
    finally:
        await local_postgres.drop_database("bench_smoke")
