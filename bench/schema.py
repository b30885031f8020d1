"""The benchmark table, its seeding, the shared action SQL and reading the results back.

Every contender acts on ``bench_items`` the same way: lock the row ``FOR UPDATE`` while it
still matches ``pending``, set ``pending = false``, commit. The action also stamps
``started_at = now()`` (when its transaction began) and ``processed_at = clock_timestamp()``
(just before the commit), and ``runs`` counts how often a row was acted on, so the harness
can check "every row exactly once" and compute rates and waits from the database's clock.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import psycopg

TABLE = "bench_items"
TABLE_DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id bigint PRIMARY KEY,
    pending boolean NOT NULL DEFAULT true,
    runs integer NOT NULL DEFAULT 0,
    started_at timestamptz,
    processed_at timestamptz
)"""
SET_DONE = "pending = false, runs = runs + 1, started_at = now(), processed_at = clock_timestamp()"
LOCK_SQL = f"SELECT id FROM {TABLE} WHERE id = %s AND pending FOR UPDATE"
ACT_SQL = f"UPDATE {TABLE} SET {SET_DONE} WHERE id = %s"
SINGLE_UPDATE_SQL = f"UPDATE {TABLE} SET {SET_DONE} WHERE pending"
MATCHING_SQL = f"SELECT id FROM {TABLE} WHERE pending ORDER BY id"


def act(connection: psycopg.Connection[Any], item_id: int) -> bool:
    """Lock, re-check and update one row in its own transaction; False if it stopped matching."""
    with connection.transaction():
        if connection.execute(LOCK_SQL, (item_id,)).fetchone() is None:
            return False
        connection.execute(ACT_SQL, (item_id,))
    return True


async def act_async(connection: psycopg.AsyncConnection[Any], item_id: int) -> bool:
    """:func:`act` on an async connection."""
    async with connection.transaction():
        cursor = await connection.execute(LOCK_SQL, (item_id,))
        if await cursor.fetchone() is None:
            return False
        await connection.execute(ACT_SQL, (item_id,))
    return True


async def connect(conninfo: str) -> psycopg.AsyncConnection[Any]:
    """An autocommit connection (the harness's own, never a contender's)."""
    return await psycopg.AsyncConnection.connect(conninfo, autocommit=True)


async def seed(conninfo: str, rows: int, *, first: int = 1) -> None:
    """Empty the table (a fresh file: no dead rows left by a previous contender), then add
    ``rows`` matching rows with ids ``first``.. ``first + rows - 1``.

    Warm-ups and side measurements use ids far from 1..N: a record whose previous run's
    workflow has not closed yet would be joined, not run again (one run per record).
    """
    async with await connect(conninfo) as connection:
        await connection.execute(TABLE_DDL)
        await connection.execute(f"TRUNCATE {TABLE}")
        await connection.execute(
            f"INSERT INTO {TABLE} (id) SELECT generate_series(%s::bigint, %s::bigint)",
            (first, first + rows - 1),
        )
        await connection.execute(f"VACUUM ANALYZE {TABLE}")


async def matching_ids(conninfo: str) -> list[int]:
    """The ids a scan would find now, in key order."""
    async with await connect(conninfo) as connection:
        cursor = await connection.execute(MATCHING_SQL)
        return [int(row[0]) for row in await cursor.fetchall()]


async def wait_until_done(conninfo: str, rows: int, *, timeout: float, poll: float = 0.1) -> None:
    """Return once no row is pending; TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    async with await connect(conninfo) as connection:
        while True:
            cursor = await connection.execute(f"SELECT count(*) FROM {TABLE} WHERE pending")
            row = await cursor.fetchone()
            left = int(row[0]) if row else rows
            if left == 0:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"expected 0 pending rows within {timeout:g}s, found {left}")
            await asyncio.sleep(poll)


@dataclass
class RunStats:
    """What the table says about one run: counts, the last commit and when each row began."""

    once: int
    more_than_once: int
    never: int
    first_start: float | None
    last_commit: float | None
    started: dict[int, float] = field(default_factory=dict)

    @property
    def exactly_once(self) -> bool:
        """Every row was acted on, none twice."""
        return self.more_than_once == 0 and self.never == 0


async def read_stats(conninfo: str) -> RunStats:
    """Read counts and timestamps (epoch seconds) of every row."""
    async with await connect(conninfo) as connection:
        cursor = await connection.execute(
            f"SELECT count(*) FILTER (WHERE runs = 1), count(*) FILTER (WHERE runs > 1),"
            f" count(*) FILTER (WHERE runs = 0),"
            f" extract(epoch FROM min(started_at))::float8,"
            f" extract(epoch FROM max(processed_at))::float8 FROM {TABLE}"
        )
        counts = await cursor.fetchone()
        assert counts is not None
        cursor = await connection.execute(
            f"SELECT id, extract(epoch FROM started_at)::float8 FROM {TABLE}"
            " WHERE started_at IS NOT NULL"
        )
        started = {int(row[0]): float(row[1]) for row in await cursor.fetchall()}
    return RunStats(
        once=int(counts[0]),
        more_than_once=int(counts[1]),
        never=int(counts[2]),
        first_start=counts[3],
        last_commit=counts[4],
        started=started,
    )
