"""The numbers each fault test reports, printed together at the end of the session."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.faults.workload import LedgerCheck, RunCheck, Workload, check_ledger, check_runs


@dataclass
class FaultResult:
    """One fault test's workload, faults, findings and wall time.

    ``compensated``: records whose action was not meant to fail that got on_error
    anyway (an outage used their attempts); 0 is the guarantee.
    """

    test: str
    records: int
    faults: str
    duplicates: int
    lost: int
    seconds: float
    compensated: int = 0
    runs: int = 0
    rechecked: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    notes: str = ""

    def line(self) -> str:
        """One line of the session summary."""
        outcomes = " ".join(f"{k}={v}" for k, v in sorted(self.outcomes.items()))
        text = (
            f"{self.test}: records={self.records} faults=[{self.faults}] "
            f"duplicates={self.duplicates} lost={self.lost} "
            f"on_error_for_healthy={self.compensated} runs={self.runs} "
            f"rechecked={self.rechecked} wall={self.seconds:.1f}s outcomes: {outcomes or '-'}"
        )
        return f"{text}; {self.notes}" if self.notes else text


RESULTS: list[FaultResult] = []


def report(
    test: str,
    *,
    faults: str,
    ledger: LedgerCheck,
    runs: RunCheck | None,
    seconds: float,
    notes: str = "",
    run_count: int = 0,
    outcomes: dict[str, int] | None = None,
) -> FaultResult:
    """Record one test's numbers for the session summary (and ``EMBER_FAULT_REPORT``).

    ``run_count`` and ``outcomes`` stand in for ``runs`` when there is no RunCheck
    (chunk mode).
    """
    result = FaultResult(
        test=test,
        records=ledger.records,
        faults=faults,
        duplicates=len(ledger.duplicates),
        lost=len(ledger.lost),
        seconds=seconds,
        compensated=len(ledger.compensated),
        runs=runs.runs if runs else run_count,
        rechecked=runs.rechecked if runs else 0,
        outcomes=dict(runs.outcomes) if runs else dict(outcomes or {}),
        notes=notes,
    )
    RESULTS.append(result)
    target = os.environ.get("EMBER_FAULT_REPORT")
    if target:
        with Path(target).open("a") as handle:
            handle.write(json.dumps(asdict(result)) + "\n")
    return result


async def verify(
    client: Client,
    engine: AsyncEngine,
    workload: Workload,
    *,
    test: str,
    faults: str,
    started: float,
    notes: str = "",
    effects: dict[int, str | None] | None = None,
    outcomes: dict[int, str] | None = None,
) -> FaultResult:
    """Check the ledger and the runs against the plans, report the numbers, then assert.

    ``effects`` / ``outcomes`` override the plans' expectations (rows the test changed).
    """
    effects = workload.expected_effects() if effects is None else effects
    outcomes = workload.expected_outcomes() if outcomes is None else outcomes
    ledger = await check_ledger(engine, effects)
    runs = await check_runs(client, workload, outcomes, effects)
    result = report(
        test,
        faults=faults,
        ledger=ledger,
        runs=runs,
        seconds=time.monotonic() - started,
        notes=notes,
    )
    ledger.assert_exact()
    runs.assert_all_ended()
    return result
