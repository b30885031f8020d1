"""The hand-written Temporal baseline: a client loop starting one workflow per row.

What a team would write without Ember: ``SELECT`` the matching ids, then
``client.start_workflow`` for each with bounded concurrency (the same 64 starts in flight
as Ember's scan activity); each workflow runs one activity doing the shared SQL of
:mod:`bench.schema` on a psycopg pool. The worker runs in its own process, on its own task
queue, with the default workflow sandbox::

    python -m bench.temporal_baseline --address HOST:PORT --conninfo DSN --task-queue Q
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import time
import uuid
from pathlib import Path

from psycopg_pool import AsyncConnectionPool
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import Worker

from bench import schema
from bench.baseline_workflow import (
    ACTIVITY,
    WORKFLOW,
    BaselineDone,
    BaselineItem,
    BaselineRecordWorkflow,
)
from bench.measure import Latency, Result, rate, workflow_starts
from bench.processes import RssSampler, WorkerProcess
from bench.stack import Stack

READY = "bench baseline worker ready"
START_CONCURRENCY = 64
WARMUP_ROWS = 20
WARMUP_FIRST = 900_000_000


class BaselineActivities:
    """The activity, bound to the worker's connection pool."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self.pool = pool

    @activity.defn(name=ACTIVITY)
    async def process(self, item: BaselineItem) -> BaselineDone:
        """Lock, re-check and update the row in one transaction."""
        async with self.pool.connection() as connection:
            return BaselineDone(await schema.act_async(connection, item.item_id))


async def serve(address: str, conninfo: str, task_queue: str, concurrency: int) -> None:
    """Run the worker until SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    client = await Client.connect(address)
    pool = AsyncConnectionPool(
        conninfo,
        min_size=concurrency,
        max_size=concurrency,
        kwargs={"autocommit": True},
        open=False,
    )
    await pool.open()
    try:
        worker = Worker(
            client,
            task_queue=task_queue,
            workflows=[BaselineRecordWorkflow],
            activities=[BaselineActivities(pool).process],
            max_concurrent_activities=concurrency,
        )
        async with worker:
            print(READY, flush=True)
            await stop.wait()
    finally:
        await pool.close()


async def start_all(client: Client, ids: list[int], task_queue: str, tag: str) -> None:
    """The client loop: one workflow per id, at most :data:`START_CONCURRENCY` in flight."""
    gate = asyncio.Semaphore(START_CONCURRENCY)

    async def start(item_id: int) -> None:
        async with gate:
            await client.start_workflow(
                WORKFLOW,
                BaselineItem(item_id),
                id=f"bench-baseline/{tag}/{item_id}",
                task_queue=task_queue,
            )

    await asyncio.gather(*(start(item_id) for item_id in ids))


async def measure(
    stack: Stack, rows: int, *, concurrency: int, logs: Path, timeout: float
) -> Result:
    """The baseline on ``rows`` rows, with ``concurrency`` activities in its worker."""
    task_queue = f"bench-baseline-{uuid.uuid4().hex[:8]}"
    client = stack.temporal.client
    args = [
        "-m",
        "bench.temporal_baseline",
        "--address",
        stack.temporal_address,
        "--conninfo",
        stack.conninfo,
        "--task-queue",
        task_queue,
        "--concurrency",
        str(concurrency),
    ]
    worker = WorkerProcess(args, env={}, log=logs / f"{task_queue}.log", ready=READY)
    async with worker:
        await schema.seed(stack.conninfo, WARMUP_ROWS, first=WARMUP_FIRST)
        await start_all(client, await schema.matching_ids(stack.conninfo), task_queue, "warmup")
        await schema.wait_until_done(stack.conninfo, WARMUP_ROWS, timeout=60)
        await schema.seed(stack.conninfo, rows)
        with stack.cpu_meter(worker.pid) as cpu:
            async with RssSampler(worker.pid) as rss:
                t0 = time.time()
                ids = await schema.matching_ids(stack.conninfo)
                await start_all(client, ids, task_queue, "run")
                await schema.wait_until_done(stack.conninfo, rows, timeout=timeout)
    stats = await schema.read_stats(stack.conninfo)
    listed = await workflow_starts(client, WORKFLOW, t0, rows)
    starts = [start for workflow_id, _, start in listed if "/run/" in workflow_id]
    seconds, per_second = rate(rows, t0, stats.last_commit)
    return Result(
        contender="temporal-baseline",
        rows=rows,
        seconds=seconds,
        records_per_s=per_second,
        start=Latency.of_seconds(start - t0 for start in starts),
        act=Latency.of_seconds(started - t0 for started in stats.started.values()),
        peak_rss_mb=rss.peak_mb,
        cpu_seconds=cpu.used,
        exactly_once=stats.exactly_once,
        settings=f"activities={concurrency}, starts in flight={START_CONCURRENCY}",
    )


def main() -> None:
    """Command line of the worker process."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--address", required=True)
    parser.add_argument("--conninfo", required=True)
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(serve(args.address, args.conninfo, args.task_queue, args.concurrency))


if __name__ == "__main__":
    main()
