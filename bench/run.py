"""Run the benchmark: ``python -m bench.run --quick`` (1,000 rows) or ``--full``.

Quick: every contender at N = 1,000, procrastinate swept over 1/4/10/20 workers, 200
``run_trigger`` calls, the idle trigger over a short window. Full: N = 1,000 and 10,000,
then 100,000 for the contenders whose 10,000-row rate says they fit in the time budget
(~30 min in all), the idle trigger over a real minute, and a scan of 1,000,000 rows.
Prints the table and writes ``bench/results/latest.md`` and ``latest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import ember, floor, idle, procrastinate_queue, report, temporal_baseline
from bench.measure import Result
from bench.stack import Stack, bench_stack

CONTENDERS = (
    "floor-loop",
    "floor-orm",
    "floor-update",
    "procrastinate",
    "ember",
    "ember-local",
    "ember-chunked",
    "temporal-baseline",
)
CHUNK_SIZE = 100
RESERVE = 6 * 60  # seconds kept for the idle minute and the 1M-row scan in full mode


@dataclass(frozen=True)
class Variant:
    """An Ember lever to measure beside the default: another checkout and/or settings.

    Given on the command line as ``LABEL=PATH[,NAME=VALUE...]``: PATH is a patched copy
    of Ember (``.`` for this one), NAME=VALUE are extra environment variables of its
    worker (``EMBER_QUEUES=bench=20``).
    """

    label: str
    root: Path | None
    env: dict[str, str]

    @classmethod
    def parse(cls, text: str) -> Variant:
        """From ``LABEL=PATH[,NAME=VALUE...]``."""
        label, _, rest = text.partition("=")
        path, *pairs = rest.split(",")
        if not label or not path or any("=" not in pair for pair in pairs):
            raise ValueError(f"--variant: expected LABEL=PATH[,NAME=VALUE...], found {text!r}")
        root = None if path == "." else Path(path).resolve()
        return cls(label, root, dict(pair.split("=", 1) for pair in pairs))


@dataclass(frozen=True)
class Plan:
    """What a mode measures."""

    mode: str
    sizes: tuple[int, ...]
    sweep: tuple[int, ...]
    activities: int
    run_trigger_calls: int
    idle_window: float
    idle_scans: int
    observe_minute: bool
    scan_rows: int | None
    budget: float


QUICK = Plan("quick", (1000,), (1, 4, 10, 20), 10, 200, 10.0, 3, False, None, 5 * 60)
FULL = Plan(
    "full", (1000, 10_000, 100_000), (1, 4, 10, 20), 10, 200, 60.0, 5, True, 1_000_000, 30 * 60
)


class Runner:
    """Runs a plan on one stack and collects the report."""

    def __init__(
        self,
        plan: Plan,
        stack: Stack,
        only: set[str],
        logs: Path,
        variants: tuple[Variant, ...] = (),
    ) -> None:
        self.plan = plan
        self.variants = variants
        self.stack = stack
        self.only = only
        self.logs = logs
        self.report = report.Report(plan.mode)
        self.began = time.monotonic()
        self.queue_concurrency: int | None = None

    def remaining(self) -> float:
        """Seconds of the budget left."""
        return self.plan.budget - (time.monotonic() - self.began)

    def predicted(self, contender: str, rows: int) -> float | None:
        """Seconds ``contender`` should take at ``rows``, from its largest earlier run."""
        earlier = [r for r in self.report.results if r.contender == contender and r.rows < rows]
        if not earlier:
            return None
        last = max(earlier, key=lambda r: r.rows)
        return rows / max(last.records_per_s, 1e-9) * 1.2 + 15

    def fastest_first(self, rows: int) -> list[str]:
        """The contenders, quickest predicted first: the budget then skips the slowest."""
        return sorted(CONTENDERS, key=lambda name: self.predicted(name, rows) or 0.0)

    async def contender(self, name: str, rows: int) -> None:
        """Measure ``name`` at ``rows`` unless skipped or over budget."""
        if name not in self.only:
            return
        guess = self.predicted(name, rows)
        spare = self.remaining() - (RESERVE if self.plan.scan_rows else 0)
        if guess is not None and guess > spare:
            self.report.notes.append(
                f"{name} at {rows:,} rows skipped: predicted {guess:.0f} s, {max(spare, 0):.0f} s "
                "of the time budget left"
            )
            return
        timeout = max(120.0, (guess or rows / 5) * 3)
        print(f"-- {name} at {rows:,} rows", flush=True)
        measure = self._measures(rows, timeout)[name]
        try:
            result = await measure()
        except Exception as error:  # one contender failing must not lose the others
            logging.exception("bench: %s at %d rows failed", name, rows)
            self.report.notes.append(f"{name} at {rows:,} rows failed: {error!r}"[:400])
            return
        self.report.results.append(result)
        print(f"   {result.records_per_s:,.0f} records/s, exactly once: {result.exactly_once}")

    def _measures(self, rows: int, timeout: float) -> dict[str, Callable[[], Awaitable[Result]]]:
        stack, logs, activities = self.stack, self.logs, self.plan.activities

        async def ember_per_record() -> Result:
            calls = self.plan.run_trigger_calls if self.report.run_trigger is None else 0
            result, latency = await ember.measure(
                stack,
                rows,
                concurrency=activities,
                logs=logs,
                timeout=timeout,
                run_trigger_calls=calls,
            )
            if latency is not None:
                self.report.run_trigger = latency
            return result

        async def ember_variant(**options: Any) -> Result:
            result, _ = await ember.measure(
                stack, rows, concurrency=activities, logs=logs, timeout=timeout, **options
            )
            return result

        async def queue() -> Result:
            if self.queue_concurrency is None:
                best, tried = await procrastinate_queue.sweep(
                    stack, rows, list(self.plan.sweep), logs=logs, timeout=timeout
                )
                self.report.sweep += tried
                self.queue_concurrency = int(best.settings.partition("=")[2])
                return best
            return await procrastinate_queue.measure(
                stack, rows, concurrency=self.queue_concurrency, logs=logs, timeout=timeout
            )

        return {
            "floor-loop": lambda: floor.measure(
                stack, rows, kind="loop", logs=logs, timeout=timeout
            ),
            "floor-orm": lambda: floor.measure(stack, rows, kind="orm", logs=logs, timeout=timeout),
            "floor-update": lambda: floor.measure(
                stack, rows, kind="update", logs=logs, timeout=timeout
            ),
            "procrastinate": queue,
            "ember": ember_per_record,
            "ember-local": lambda: ember_variant(
                extra_env={"BENCH_LOCAL_ACTIVITY": "1"}, label="ember-local"
            ),
            "ember-chunked": lambda: ember_variant(chunk_size=CHUNK_SIZE),
            "temporal-baseline": lambda: temporal_baseline.measure(
                stack, rows, concurrency=activities, logs=logs, timeout=timeout
            ),
        }

    async def variant(self, variant: Variant, rows: int) -> None:
        """Ember (per record, and chunked if asked) from ``variant``'s tree and settings."""
        for chunk_size, name in ((None, "ember"), (CHUNK_SIZE, "ember-chunked")):
            if name not in self.only:
                continue
            print(f"-- {name}[{variant.label}] at {rows:,} rows", flush=True)
            try:
                result, _ = await ember.measure(
                    self.stack,
                    rows,
                    chunk_size=chunk_size,
                    concurrency=self.plan.activities,
                    logs=self.logs,
                    timeout=max(120.0, rows / 5 * 3),
                    extra_env=variant.env,
                    root=variant.root,
                    label=f"{name}[{variant.label}]",
                )
            except Exception as error:
                logging.exception("bench: variant %s failed", variant.label)
                self.report.notes.append(f"{name}[{variant.label}] failed: {error!r}"[:400])
                continue
            self.report.levers.append(result)
            print(f"   {result.records_per_s:,.0f} records/s", flush=True)

    async def run(self, idle_cost: bool) -> report.Report:
        """Every contender at every size (variants after), then the idle trigger and scan."""
        for rows in self.plan.sizes:
            for name in self.fastest_first(rows):
                await self.contender(name, rows)
            for variant in self.variants:
                await self.variant(variant, rows)
        if idle_cost:
            print("-- one idle trigger", flush=True)
            measured = await idle.measure_idle(
                self.stack,
                window=self.plan.idle_window,
                scans=self.plan.idle_scans,
                observe_minute=self.plan.observe_minute,
                logs=self.logs,
            )
            self.report.idle = measured.as_dict()
        if self.plan.scan_rows:
            print(f"-- scan of {self.plan.scan_rows:,} rows", flush=True)
            scan = await ember.measure_scan(
                self.stack, self.plan.scan_rows, logs=self.logs, concurrency=self.plan.activities
            )
            self.report.scan = asdict(scan)
        self.report.seconds = time.monotonic() - self.began
        return self.report


async def main_async(
    plan: Plan,
    only: set[str],
    idle_cost: bool,
    variants: tuple[Variant, ...] = (),
    name: str = "latest",
) -> str:
    """Start the servers, run the plan, write ``bench/results/<name>.md``; its Markdown."""
    logs = Path(tempfile.mkdtemp(prefix="ember-bench-logs-"))
    print(f"bench: {plan.mode} mode; worker logs in {logs}", flush=True)
    async with bench_stack() as stack:
        measured = await Runner(plan, stack, only, logs, variants).run(idle_cost)
    return report.write(measured, name=name)


def main() -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="N = 1,000 only (the default)")
    group.add_argument("--full", action="store_true", help="1,000, 10,000, 100,000 and 1M scan")
    parser.add_argument(
        "--only", help=f"comma-separated contenders (default all): {', '.join(CONTENDERS)}"
    )
    parser.add_argument("--sizes", help="comma-separated row counts instead of the mode's")
    parser.add_argument("--no-idle", action="store_true", help="skip the idle-trigger cost")
    parser.add_argument(
        "--name", default="latest", help="results file name in bench/results (default latest)"
    )
    parser.add_argument("--no-scan", action="store_true", help="skip the 1M-row scan")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        help="also run Ember as LABEL=PATH[,NAME=VALUE...] (a patched copy, extra settings)",
    )
    args = parser.parse_args()
    plan = FULL if args.full else QUICK
    if args.sizes:
        plan = Plan(**{**asdict(plan), "sizes": tuple(int(s) for s in args.sizes.split(","))})
    if args.no_scan:
        plan = Plan(**{**asdict(plan), "scan_rows": None})
    only = set(args.only.split(",")) if args.only else set(CONTENDERS)
    unknown = only - set(CONTENDERS)
    if unknown:
        parser.error(f"--only: expected some of {', '.join(CONTENDERS)}, found {sorted(unknown)}")
    try:
        variants = tuple(Variant.parse(text) for text in args.variant)
    except ValueError as error:
        parser.error(str(error))
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    print(asyncio.run(main_async(plan, only, not args.no_idle, variants, args.name)))


if __name__ == "__main__":
    main()
