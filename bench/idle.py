"""What one idle trigger costs PostgreSQL: statements per minute when nothing matches.

An Ember worker runs one trigger scheduled ``* * * * *`` on a table where no row matches.
With statement logging on (``log_statement = all``, the database name in each line), the
harness counts the statements the bench database receives:

- *background*: the schedule paused, over a window: what the idle worker costs by itself
  (connection checks, the outbox relay's polling);
- *per scan*: a few scans started at once, as the schedule would, less the background;
- the idle trigger's cost per minute is one scan (the cron fires once a minute); in full
  mode a real minute with the schedule running checks that figure.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench import ember, schema
from bench.stack import Stack

STATEMENT = re.compile(r" db=(\S+) LOG:  (?:statement|execute [^:]*): (.*)$")
LOG_SETTINGS = {"log_statement": "all", "log_line_prefix": "%m [%p] db=%d "}


@dataclass
class IdleResult:
    """Statements (and transactions) an idle trigger and its worker cost the database."""

    background_statements_per_min: float
    statements_per_scan: float
    transactions_per_scan: float
    scan_history_events: int
    observed_statements_per_min: float | None
    window_seconds: float
    scans: int
    background_top: list[tuple[str, int]] = field(default_factory=list)
    scan_top: list[tuple[str, int]] = field(default_factory=list)

    @property
    def trigger_statements_per_min(self) -> float:
        """One scan a minute."""
        return self.statements_per_scan

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return asdict(self) | {"trigger_statements_per_min": self.trigger_statements_per_min}


class StatementLog:
    """Reads the statements logged for the bench database since a mark."""

    def __init__(self, path: Path, database: str) -> None:
        self.path = path
        self.database = database
        self.offset = 0

    def mark(self) -> None:
        """Count from here on."""
        self.offset = self.path.stat().st_size

    def since_mark(self) -> Counter[str]:
        """Statements (first 70 characters) logged for the bench database since the mark."""
        with self.path.open("rb") as log:
            log.seek(self.offset)
            text = log.read().decode(errors="replace")
        found: Counter[str] = Counter()
        for line in text.splitlines():
            match = STATEMENT.search(line)
            if match and match.group(1) == self.database:
                found[" ".join(match.group(2).split())[:70]] += 1
        return found


async def configure_logging(stack: Stack, on: bool) -> None:
    """Turn statement logging on (with the database in each line) or back to defaults."""
    async with await schema.connect(stack.conninfo_of("postgres")) as connection:
        for name, value in LOG_SETTINGS.items():
            if on:
                await connection.execute(f"ALTER SYSTEM SET {name} = '{value}'")
            else:
                await connection.execute(f"ALTER SYSTEM RESET {name}")
        await connection.execute("SELECT pg_reload_conf()")
    await asyncio.sleep(0.3)  # the reload reaches every backend asynchronously


async def transactions(stack: Stack) -> int:
    """Commits + rollbacks of the bench database so far (from the admin database)."""
    async with await schema.connect(stack.conninfo_of("postgres")) as connection:
        cursor = await connection.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
            (stack.database,),
        )
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def measure_idle(
    stack: Stack, *, window: float, scans: int, observe_minute: bool, logs: Path
) -> IdleResult:
    """The idle cost (see the module doc); ``window`` seconds of background."""
    await schema.seed(stack.conninfo, 1000)
    async with await schema.connect(stack.conninfo) as connection:
        await connection.execute("UPDATE bench_items SET pending = false")
    log = StatementLog(stack.log_file, stack.database)
    async with ember.ember_worker(stack, "idle", concurrency=10, logs=logs) as run:
        schedule = run.client.client.get_schedule_handle(run.trigger.schedule_id)
        await schedule.pause()
        await (await run.client.start_scan(run.trigger)).result()  # warm up
        await configure_logging(stack, True)
        try:
            log.mark()
            before = await transactions(stack)
            began = time.monotonic()
            await asyncio.sleep(window)
            background = log.since_mark()
            quiet = time.monotonic() - began
            background_rate = sum(background.values()) / quiet
            background_xacts = (await transactions(stack) - before) / quiet

            before = await transactions(stack)
            log.mark()
            began = time.monotonic()
            events = 0
            for _ in range(scans):
                handle = await run.client.start_scan(run.trigger)
                await handle.result()
                events = len([event async for event in handle.fetch_history_events()])
            await asyncio.sleep(1.0)  # statistics are flushed about once a second
            elapsed = time.monotonic() - began
            scanned = log.since_mark()
            scan_xacts = await transactions(stack) - before
            per_scan = (sum(scanned.values()) - background_rate * elapsed) / scans
            xacts_per_scan = (scan_xacts - background_xacts * elapsed) / scans

            observed = None
            if observe_minute:
                await schedule.unpause()
                await asyncio.sleep((30 - time.time() % 60) % 60)  # the firing falls mid-window
                log.mark()
                await asyncio.sleep(60)
                observed = float(sum(log.since_mark().values()))
        finally:
            await configure_logging(stack, False)
    return IdleResult(
        background_statements_per_min=background_rate * 60,
        statements_per_scan=max(per_scan, 0.0),
        transactions_per_scan=max(xacts_per_scan, 0.0),
        scan_history_events=events,
        observed_statements_per_min=observed,
        window_seconds=window,
        scans=scans,
        background_top=background.most_common(6),
        scan_top=scanned.most_common(8),
    )
