"""The Ember contenders: one workflow per record, and ``chunk_size``; also run_trigger latency
and the 1M-row scan.

The worker is the real process, ``python worker.py run`` with ``EMBER_APP`` pointing at
:mod:`bench.ember_app`, so its peak RSS is Ember's alone. The harness starts the scan with
``TriggerClient.start_scan(trigger)`` (what the trigger's Temporal Schedule would do) and
watches the table until no row is pending.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from bench import ember_app, schema
from bench.measure import Latency, Result, rate, workflow_starts
from bench.processes import RssSampler, WorkerProcess
from bench.stack import Stack
from ember.activities.scan_types import ScanSummary
from ember.registry import Trigger, naming
from ember.workflows.client import TriggerClient

WARMUP_ROWS = 20
WARMUP_FIRST = 900_000_000
SIDE_FIRST = 800_000_000
READY = "ember: schedules"


@dataclass
class EmberRun:
    """A running Ember worker for one bench domain, and a client of it."""

    worker: WorkerProcess
    client: TriggerClient
    trigger: Trigger


def worker_env(
    stack: Stack, domain: str, mode: str, queues: str, chunk_size: int | None
) -> dict[str, str]:
    """The worker's ``EMBER_*`` settings and the bench app's variant."""
    env = {
        "EMBER_APP": "bench.ember_app:domain",
        "EMBER_DATABASE_URL": stack.database_url,
        "EMBER_TEMPORAL_ADDRESS": stack.temporal_address,
        "EMBER_QUEUES": queues,
        "BENCH_DOMAIN": domain,
        "BENCH_MODE": mode,
    }
    if chunk_size is not None:
        env["BENCH_CHUNK_SIZE"] = str(chunk_size)
    return env


@asynccontextmanager
async def ember_worker(
    stack: Stack,
    mode: str,
    *,
    concurrency: int,
    logs: Path,
    chunk_size: int | None = None,
    extra_env: dict[str, str] | None = None,
    root: Path | None = None,
) -> AsyncIterator[EmberRun]:
    """Run ``worker.py run`` for a fresh bench domain in ``mode``; yield it and a client.

    ``root`` runs the worker from another checkout of Ember (a patched copy, to measure a
    lever against this one in the same run); ``extra_env`` adds or overrides settings.
    """
    name = f"bench{uuid.uuid4().hex[:8]}"
    queues = f"{ember_app.QUEUE}={concurrency}"
    if mode == "scan":
        queues += f",{ember_app.SCAN_QUEUE}=2"
    env = worker_env(stack, name, mode, queues, chunk_size) | (extra_env or {})
    command = ["worker.py", "run"]
    if root is not None:
        env["PYTHONPATH"] = str(root)
        command = [sys.executable, str(root / "worker.py"), "run"]
    domain = ember_app.build(name, mode, chunk_size)
    worker = WorkerProcess(command, env=env, log=logs / f"{name}-{mode}.log", ready=READY)
    async with worker:
        client = TriggerClient(stack.temporal.client, domain)
        yield EmberRun(worker, client, ember_app.the_trigger(domain))


async def scan_and_wait(run: EmberRun, stack: Stack, rows: int, timeout: float) -> float:
    """Start a scan now and wait until every row is done; returns ``t0``."""
    t0 = time.time()
    await run.client.start_scan(run.trigger)
    await schema.wait_until_done(stack.conninfo, rows, timeout=timeout)
    return t0


async def warm_up(run: EmberRun, stack: Stack) -> None:
    """A few rows first: imports and connection pools warm up."""
    await schema.seed(stack.conninfo, WARMUP_ROWS, first=WARMUP_FIRST)
    handle = await run.client.start_scan(run.trigger)
    await schema.wait_until_done(stack.conninfo, WARMUP_ROWS, timeout=60)
    await handle.result()


async def measure(
    stack: Stack,
    rows: int,
    *,
    chunk_size: int | None = None,
    concurrency: int,
    logs: Path,
    timeout: float,
    run_trigger_calls: int = 0,
    extra_env: dict[str, str] | None = None,
    root: Path | None = None,
    label: str | None = None,
) -> tuple[Result, Latency | None]:
    """Ember on ``rows`` rows: per record, or chunked when ``chunk_size`` is given.

    Returns the result and, when ``run_trigger_calls`` > 0, the latency of that many
    sequential ``TriggerClient.run_trigger`` calls made afterwards on the same worker.
    """
    mode = "per_record" if chunk_size is None else "chunked"
    worker = ember_worker(
        stack,
        mode,
        concurrency=concurrency,
        logs=logs,
        chunk_size=chunk_size,
        extra_env=extra_env,
        root=root,
    )
    async with worker as run:
        await warm_up(run, stack)
        await schema.seed(stack.conninfo, rows)
        with stack.cpu_meter(run.worker.pid) as cpu:
            async with RssSampler(run.worker.pid) as rss:
                t0 = await scan_and_wait(run, stack, rows, timeout)
        stats = await schema.read_stats(stack.conninfo)
        starts = await record_starts(run, t0, rows, chunk_size)
        run_trigger = None
        if run_trigger_calls:
            run_trigger = await run_trigger_latency(run, stack, run_trigger_calls)
    seconds, per_second = rate(rows, t0, stats.last_commit)
    settings = f"activities={concurrency}"
    if root is not None:
        settings += f", tree={root}"
    if extra_env:
        settings += ", " + ", ".join(f"{k}={v}" for k, v in extra_env.items())
    if chunk_size is not None:
        settings += f", chunk_size={chunk_size}"
    result = Result(
        contender=label or ("ember" if chunk_size is None else "ember-chunked"),
        rows=rows,
        seconds=seconds,
        records_per_s=per_second,
        start=Latency.of_seconds(start - t0 for start in starts.values()),
        act=Latency.of_seconds(started - t0 for started in stats.started.values()),
        peak_rss_mb=rss.peak_mb,
        cpu_seconds=cpu.used,
        exactly_once=stats.exactly_once,
        settings=settings,
    )
    return result, run_trigger


async def record_starts(
    run: EmberRun, t0: float, rows: int, chunk_size: int | None
) -> dict[int, float]:
    """When each record's run started: its record workflow's, or its chunk workflow's, start."""
    client = run.client.client
    if chunk_size is None:
        listed = await workflow_starts(client, naming.RECORD_WORKFLOW, t0, rows)
        return {int(record): start for _, record, start in listed if record}
    chunks = -(-rows // chunk_size)
    starts: dict[int, float] = {}
    for _, record, start in await workflow_starts(client, naming.CHUNK_WORKFLOW, t0, chunks):
        first, _, last = record.partition("..")
        for key in range(int(first), int(last or first) + 1):
            starts[key] = start
    return starts


async def run_trigger_latency(run: EmberRun, stack: Stack, calls: int) -> Latency:
    """``calls`` sequential ``run_trigger`` calls on fresh rows: time until each returns."""
    await schema.seed(stack.conninfo, calls, first=SIDE_FIRST)
    seconds = []
    for key in range(SIDE_FIRST, SIDE_FIRST + calls):
        began = time.perf_counter()
        await run.client.run_trigger((ember_app.BenchItem, key), run.trigger)
        seconds.append(time.perf_counter() - began)
    await schema.wait_until_done(stack.conninfo, calls, timeout=120)
    return Latency.of_seconds(seconds)


@dataclass
class ScanResult:
    """The 1M-row scan: dispatch time and the worker's memory while it ran."""

    rows: int
    dispatched: int
    seconds: float
    rows_per_s: float
    peak_rss_mb: float
    rss_at_10pct_mb: float
    rss_at_end_mb: float
    chunk_size: int


async def measure_scan(
    stack: Stack, rows: int, *, logs: Path, concurrency: int, root: Path | None = None
) -> ScanResult:
    """Scan ``rows`` matching rows in chunk mode and time the scan until its last dispatch.

    The chunk runs' action changes nothing, and they run alongside the scan (as they would);
    the measurement ends when the scan workflow returns, the worker is stopped after.
    """
    await schema.seed(stack.conninfo, rows)
    worker = ember_worker(stack, "scan", concurrency=concurrency, logs=logs, root=root)
    async with worker as run, RssSampler(run.worker.pid, interval=0.25) as rss:
        began = time.perf_counter()
        handle = await run.client.start_scan(run.trigger)
        summary: ScanSummary = await handle.result()
        seconds = time.perf_counter() - began
    return ScanResult(
        rows=rows,
        dispatched=summary.dispatched,
        seconds=seconds,
        rows_per_s=summary.dispatched / seconds,
        peak_rss_mb=rss.peak_mb,
        rss_at_10pct_mb=rss.mb_at(0.1),
        rss_at_end_mb=rss.mb_at(1.0),
        chunk_size=ember_app.SCAN_CHUNK_SIZE,
    )
