"""The floor: the same per-row transactions in a plain loop, and one ``UPDATE ... WHERE``.

``loop`` is a Python loop on one psycopg connection: ``SELECT`` the matching ids, then for
each row lock, re-check, update and commit, exactly the SQL every other contender runs.
No queue, no retries, no durability beyond the row's own commit: what "records/s" can be
at best with one row per transaction. ``orm`` is the same loop the way an Ember action
runs: an ``AsyncSession`` loads the row ``FOR UPDATE`` and the bench action sets its
attributes, committed by the session (SQLAlchemy's own cost, without Ember or Temporal).
``update`` is the single set-based statement, for reference. Each runs in its own
process, which connects, says it is ready and starts on ``go`` from standard input, so
the timing leaves out interpreter start-up::

    python -m bench.floor --conninfo DSN loop|orm|update
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import psycopg
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from bench import ember_app, schema
from bench.ember_app import BenchItem
from bench.measure import Latency, Result, rate
from bench.processes import RssSampler, WorkerProcess
from bench.stack import Stack
from ember.registry import ActionContext

READY = "bench floor ready"
DONE = "bench floor done"
KINDS = ("loop", "orm", "update")
LABELS = {"loop": "floor-loop", "orm": "floor-orm", "update": "floor-update"}
SETTINGS = {"loop": "1 connection", "orm": "1 AsyncSession connection", "update": "1 statement"}


def run(conninfo: str, kind: str) -> None:
    """Connect, wait for ``go``, do the work, say done, stay connected until stopped."""
    if kind == "orm":
        asyncio.run(run_orm(conninfo))
        return
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


async def run_orm(conninfo: str) -> None:
    """``run`` for ``orm``: each row through an ``AsyncSession``, as an Ember action sees it."""
    engine = create_async_engine(
        "postgresql+psycopg://", async_creator=lambda: psycopg.AsyncConnection.connect(conninfo)
    )
    async with engine.connect() as connection:
        sessions = async_sessionmaker(bind=connection, expire_on_commit=False)
        print(READY, flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        ids = (await connection.execute(text(schema.MATCHING_SQL))).scalars().all()
        await connection.commit()
        for item_id in ids:
            async with sessions() as session, session.begin():
                locked = select(BenchItem).where(BenchItem.id == item_id, BenchItem.pending)
                item = (await session.execute(locked.with_for_update())).scalars().first()
                if item is not None:
                    await ember_app.process(item, ActionContext(session=session))
        print(DONE, flush=True)
        await asyncio.to_thread(sys.stdin.readline)
    await engine.dispose()


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
        contender=LABELS[kind],
        rows=rows,
        seconds=seconds,
        records_per_s=per_second,
        start=Latency.of_seconds(started),
        act=Latency.of_seconds(started),
        peak_rss_mb=rss.peak_mb,
        cpu_seconds=cpu.used,
        exactly_once=stats.exactly_once,
        settings=SETTINGS[kind],
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
