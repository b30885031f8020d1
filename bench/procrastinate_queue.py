"""procrastinate, the PostgreSQL job queue most Python teams would pick instead.

The harness ``SELECT``s the matching ids and defers one job per row with
``batch_defer_async`` (1,000 per batch); a worker process runs the jobs at a given
concurrency, each doing the shared SQL of :mod:`bench.schema` on its own psycopg pool.
Jobs are kept (procrastinate's default), so the ``deferred`` events give when each job
was queued. :func:`sweep` tries a few concurrencies and the best one is reported::

    python -m bench.procrastinate_queue --conninfo DSN --concurrency 10
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import procrastinate
import psycopg
from psycopg_pool import AsyncConnectionPool

from bench import schema
from bench.measure import Latency, Result, rate
from bench.processes import RssSampler, WorkerProcess
from bench.stack import Stack

TASK = "bench.process_item"
QUEUE = "bench"
READY = "bench procrastinate worker ready"
DEFER_BATCH = 1000
WARMUP_ROWS = 20
WARMUP_FIRST = 900_000_000

_pool: AsyncConnectionPool | None = None


async def process_item(item_id: int) -> bool:
    """The job: lock, re-check and update the row in one transaction."""
    assert _pool is not None, "the worker opens the pool before running jobs"
    async with _pool.connection() as connection:
        return await schema.act_async(connection, item_id)


def build_app(conninfo: str, pool_size: int = 4) -> procrastinate.App:
    """A procrastinate app on the bench database with the one task registered."""
    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo, min_size=1, max_size=max(pool_size, 4)
    )
    app = procrastinate.App(connector=connector)
    app.task(name=TASK, queue=QUEUE)(process_item)
    return app


async def ensure_schema(conninfo: str) -> None:
    """Apply procrastinate's schema once; empty its jobs (and events) before each run."""
    async with await schema.connect(conninfo) as connection:
        cursor = await connection.execute("SELECT to_regclass('procrastinate_jobs')")
        row = await cursor.fetchone()
        if row is not None and row[0] is not None:
            await connection.execute("TRUNCATE procrastinate_jobs CASCADE")
            return
    app = build_app(conninfo)
    async with app.open_async():
        await app.schema_manager.apply_schema_async()


async def serve(conninfo: str, concurrency: int) -> None:
    """Run a worker on the bench queue until SIGTERM."""
    global _pool
    _pool = AsyncConnectionPool(
        conninfo,
        min_size=concurrency,
        max_size=concurrency,
        kwargs={"autocommit": True},
        open=False,
    )
    await _pool.open()
    app = build_app(conninfo, pool_size=concurrency + 2)
    try:
        async with app.open_async():
            worker = asyncio.create_task(
                app.run_worker_async(
                    queues=[QUEUE],
                    concurrency=concurrency,
                    wait=True,
                    install_signal_handlers=False,
                )
            )
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop.set)
            print(READY, flush=True)
            await stop.wait()
            worker.cancel()  # procrastinate's graceful stop: finish the jobs in flight
            await asyncio.gather(worker, return_exceptions=True)
    finally:
        await _pool.close()


async def defer_all(app: procrastinate.App, ids: list[int]) -> None:
    """One job per id, deferred in batches."""
    task: Any = app.tasks[TASK]
    for first in range(0, len(ids), DEFER_BATCH):
        batch = ids[first : first + DEFER_BATCH]
        await task.batch_defer_async(*({"item_id": item_id} for item_id in batch))


async def deferred_at(conninfo: str) -> dict[int, float]:
    """When each row's job was queued (its ``deferred`` event), epoch seconds."""
    async with await psycopg.AsyncConnection.connect(conninfo) as connection:
        cursor = await connection.execute(
            "SELECT (j.args->>'item_id')::bigint, extract(epoch FROM e.at)::float8"
            " FROM procrastinate_events e JOIN procrastinate_jobs j ON j.id = e.job_id"
            " WHERE e.type = 'deferred'"
        )
        return {int(row[0]): float(row[1]) for row in await cursor.fetchall()}


async def measure(
    stack: Stack, rows: int, *, concurrency: int, logs: Path, timeout: float
) -> Result:
    """procrastinate on ``rows`` rows with a worker of ``concurrency``."""
    await ensure_schema(stack.conninfo)
    args = ["-m", "bench.procrastinate_queue", "--conninfo", stack.conninfo]
    args += ["--concurrency", str(concurrency)]
    log = logs / f"procrastinate-{concurrency}-{rows}.log"
    app = build_app(stack.conninfo)
    async with WorkerProcess(args, env={}, log=log, ready=READY) as worker, app.open_async():
        await schema.seed(stack.conninfo, WARMUP_ROWS, first=WARMUP_FIRST)
        await defer_all(app, await schema.matching_ids(stack.conninfo))
        await schema.wait_until_done(stack.conninfo, WARMUP_ROWS, timeout=60)
        await ensure_schema(stack.conninfo)
        await schema.seed(stack.conninfo, rows)
        with stack.cpu_meter(worker.pid) as cpu:
            async with RssSampler(worker.pid) as rss:
                t0 = time.time()
                await defer_all(app, await schema.matching_ids(stack.conninfo))
                await schema.wait_until_done(stack.conninfo, rows, timeout=timeout)
    stats = await schema.read_stats(stack.conninfo)
    queued = await deferred_at(stack.conninfo)
    seconds, per_second = rate(rows, t0, stats.last_commit)
    return Result(
        contender="procrastinate",
        rows=rows,
        seconds=seconds,
        records_per_s=per_second,
        start=Latency.of_seconds(at - t0 for at in queued.values()),
        act=Latency.of_seconds(started - t0 for started in stats.started.values()),
        peak_rss_mb=rss.peak_mb,
        cpu_seconds=cpu.used,
        exactly_once=stats.exactly_once,
        settings=f"concurrency={concurrency}",
    )


async def sweep(
    stack: Stack, rows: int, concurrencies: list[int], *, logs: Path, timeout: float
) -> tuple[Result, list[Result]]:
    """:func:`measure` at each concurrency; returns the fastest and all of them."""
    tried = [
        await measure(stack, rows, concurrency=c, logs=logs, timeout=timeout) for c in concurrencies
    ]
    return max(tried, key=lambda result: result.records_per_s), tried


def main() -> None:
    """Command line of the worker process."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conninfo", required=True)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(serve(args.conninfo, args.concurrency))


if __name__ == "__main__":
    main()
