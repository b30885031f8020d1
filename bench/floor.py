"""The floor: the same per-row transactions in a plain loop, and one ``UPDATE ... WHERE``.

``loop`` is a Python loop on one psycopg connection: ``SELECT`` the matching ids, then for
each row lock, re-check, update and commit, exactly the SQL every other contender runs.
No queue, no retries, no durability beyond the row's own commit: what "records/s" can be
at best with one row per transaction. ``update`` is the single set-based statement, for
reference. Each runs in its own process, which connects, says it is ready and starts on
``go`` from standard input, so the timing leaves out interpreter start-up::

    python -m bench.floor --conninfo DSN loop|update
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import psycopg

from bench import schema
from bench.measure import Latency, Result, rate
from bench.processes import RssSampler, WorkerProcess
from bench.stack import Stack

READY = "bench floor ready"
DONE = "bench floor done"
KINDS = ("loop", "update")


def run(conninfo: str, kind: str) -> None:
    """Connect, wait for ``go``, do the work, say done, stay connected until stopped."""
    with psycopg.connect(conninfo, autocommit=True) as connection:
        print(READY, flush=True)
        sys.stdin.readline()
        if kind == "update":
            connection.execute(schema.SINGLE_UPDATE_SQL)
        else:
            ids = [int(row[0]) for row in connection.execute(schema.MATCHING_SQL).fetchall()]
            for item_id in ids:
                schema.act(connection, item_id)
        print(DONE, flush=True)
        sys.stdin.readline()  # connected (its backend's CPU still countable) until SIGTERM


async def measure(stack: Stack, rows: int, *, kind: str, logs: Path, timeout: float) -> Result:
    """The per-row ``loop`` or the single ``update`` on ``rows`` rows."""
    await schema.seed(stack.conninfo, rows)
    args = ["-m", "bench.floor", "--conninfo", stack.conninfo, kind]
    worker = WorkerProcess(
        args, env={}, log=logs / f"floor-{kind}-{rows}.log", ready=READY, stdin=True
    )
    async with worker, RssSampler(worker.pid, interval=0.02) as rss:
        with stack.cpu_meter(worker.pid) as cpu:
            t0 = time.time()
            await worker.send("go")
            await worker.wait_for(DONE, timeout)

    stats = await schema.read_stats(stack.conninfo)
    seconds, per_second = rate(rows, t0, stats.last_commit)
    started = [value - t0 for value in stats.started.values()]
    return Result(
        contender="floor-loop" if kind == "loop" else "floor-update",
        rows=rows,
        seconds=seconds,
        records_per_s=per_second,
        start=Latency.of_seconds(started),
        act=Latency.of_seconds(started),
        peak_rss_mb=rss.peak_mb,
        cpu_seconds=cpu.used,
        exactly_once=stats.exactly_once,
        settings="1 connection" if kind == "loop" else "1 statement",
    )


def main() -> None:
    """Command line of the floor process."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conninfo", required=True)
    parser.add_argument("kind", choices=KINDS)
    args = parser.parse_args()
    run(args.conninfo, args.kind)


if __name__ == "__main__":
    main()
