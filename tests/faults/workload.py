"""A fault test's workload: items with plans, and the checks of the ledger and the runs.

The checks, applied after every fault:

- the ledger: no record has two effects (``duplicates``), every record whose plan calls
  for an effect has it (``lost``), none has an effect its plan does not call for, and in
  particular on_error never ran for a record whose action was not meant to fail
  (``compensated``: an outage used its attempts);
- Temporal: every record run has ended (none running, timed out or terminated, none
  Failed but as Ember ends runs ``failed`` or ``discarded``: with that ``EmberOutcome``),
  each has an ``EmberOutcome``, and the last run of each record ended as its plan says,
  or ``cancelled`` because a retry found the record already acted on (the worker died
  after the commit and before Temporal heard of it: ``rechecked``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowExecutionStatus

from ember.activities.attributes import OUTCOME_KEY
from ember.activities.run_results import FAILING, RunHandle
from ember.activities.types import NO_LONGER_APPLIES, ChunkOutcome, Outcome
from ember.registry import Domain, Trigger, ember_metadata, naming
from ember.workflows.client import TriggerClient
from ember.workflows.testing.databases import create_tables
from ember.workflows.testing.servers import LocalPostgres
from tests.faults.ledger_app import (
    PENDING,
    PLANS,
    FaultConfig,
    FaultItem,
    LedgerBase,
    LedgerEntry,
    build_domain,
    plan_for,
)

LOST_REPORTS = {("cancelled", NO_LONGER_APPLIES), ("discarded", "on_error_failed")}
ENDED = {WorkflowExecutionStatus.COMPLETED, WorkflowExecutionStatus.CONTINUED_AS_NEW}
FAILED = WorkflowExecutionStatus.FAILED
INSERT_BATCH = 5000
VISIBILITY_LAG = 30.0
PROGRESS_EVERY = 30.0


async def create_fault_database(server: LocalPostgres, name: str) -> str:
    """Create database ``name`` with the fault app's and Ember's tables; its URL."""
    await server.drop_database(name)
    url = await server.create_database(name)
    await create_tables(url, [LedgerBase.metadata, ember_metadata])
    return url


@dataclass
class Workload:
    """The domain under test and the plan of every item."""

    config: FaultConfig
    domain: Domain
    trigger: Trigger
    plans: dict[int, str] = field(default_factory=dict)

    @classmethod
    def build(cls, config: FaultConfig) -> Workload:
        """The workload of ``config`` (no items yet)."""
        domain, trigger = build_domain(config)
        return cls(config, domain, trigger)

    async def add(self, engine: AsyncEngine, plans: dict[int, str]) -> None:
        """Insert items ``id -> plan``, all pending."""
        rows = [{"id": key, "plan": plan, "status": PENDING} for key, plan in plans.items()]
        async with engine.begin() as connection:
            for start in range(0, len(rows), INSERT_BATCH):
                await connection.execute(insert(FaultItem), rows[start : start + INSERT_BATCH])
        self.plans.update(plans)

    def expected_effects(self) -> dict[int, str | None]:
        """The ledger kind each item's plan leaves (None: no effect)."""
        return {key: PLANS[plan][1] for key, plan in self.plans.items()}

    def expected_outcomes(self) -> dict[int, str]:
        """The outcome each item's plan ends its run with."""
        return {key: PLANS[plan][0] for key, plan in self.plans.items()}

    def workflow_id(self, key: int) -> str:
        """The record run's workflow id."""
        return self.trigger.workflow_id(None, str(key))

    @property
    def id_prefix(self) -> str:
        """The prefix of every record run's workflow id."""
        return self.workflow_id(0)[: -len("0")]


@dataclass
class LedgerCheck:
    """What the ledger shows against what the plans call for."""

    records: int
    effects: int
    duplicates: list[int]
    lost: list[int]
    unexpected: list[int]
    by_kind: Counter[str]
    compensated: list[int] = field(default_factory=list)

    def assert_exact(self) -> None:
        """Every expected effect exactly once, nothing else."""
        assert not self.duplicates, f"acted on more than once: {self.duplicates[:20]}"
        assert not self.lost, f"never acted on: {self.lost[:20]}"
        assert not self.compensated, f"on_error ran for healthy records: {self.compensated[:20]}"
        assert not self.unexpected, f"acted on against plan: {self.unexpected[:20]}"


async def check_ledger(engine: AsyncEngine, expected: dict[int, str | None]) -> LedgerCheck:
    """Compare ``fault_ledger`` with ``expected`` (item -> ledger kind or None)."""
    async with engine.connect() as connection:
        rows = (await connection.execute(select(LedgerEntry.item_id, LedgerEntry.kind))).all()
    kinds: dict[int, list[str]] = {}
    for item_id, kind in rows:
        kinds.setdefault(item_id, []).append(kind)
    duplicates = sorted(key for key, found in kinds.items() if len(found) > 1)
    lost = sorted(k for k, want in expected.items() if want is not None and k not in kinds)
    unexpected = sorted(
        key
        for key, found in kinds.items()
        if expected.get(key) is None or any(kind != expected[key] for kind in found)
    )
    compensated = sorted(
        key
        for key, found in kinds.items()
        if "on_error" in found and expected.get(key) != "on_error"
    )
    return LedgerCheck(
        records=len(expected),
        effects=len(rows),
        duplicates=duplicates,
        lost=lost,
        unexpected=unexpected,
        by_kind=Counter(kind for _, kind in rows),
        compensated=compensated,
    )


@dataclass
class RunCheck:
    """What Temporal shows for the record runs of a workload."""

    runs: int
    records_with_runs: int
    unended: list[str]
    without_outcome: list[str]
    mismatched: dict[int, str]
    rechecked: int
    outcomes: Counter[str]

    def assert_all_ended(self) -> None:
        """Every run ended with an outcome, and each record's last run as its plan says."""
        assert not self.unended, f"runs not ended: {self.unended[:20]}"
        assert not self.without_outcome, f"runs without outcome: {self.without_outcome[:20]}"
        first = dict(list(self.mismatched.items())[:20])
        assert not self.mismatched, f"unexpected outcomes: {first}"


async def check_runs(
    client: Client,
    workload: Workload,
    expected: dict[int, str],
    effects: dict[int, str | None],
) -> RunCheck:
    """List every record run of the workload and compare each record's last run with its plan.

    ``expected`` maps items to the outcome their last run should have; items missing from
    it may have runs or not (rows the test changed), but those runs must have ended too.
    """
    deadline = time.monotonic() + VISIBILITY_LAG
    while True:  # visibility trails the runs by a moment: list again until it caught up
        listing = await _list_runs(client, workload)
        if not listing.unended or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    latest = listing.latest
    mismatched: dict[int, str] = {}
    rechecked = 0
    for key, want in expected.items():
        workflow_id = workload.workflow_id(key)
        found = latest.get(workflow_id, (None, None))[1]
        if found == want:
            continue
        if found in ("cancelled", "discarded") and effects.get(key) is not None:
            # Acted on (the ledger says so), then the report of it was lost: the retry
            # found the record no longer matching, or on_error committed after its
            # attempt had timed out. The designed outcomes; the effect happened once.
            result = await RunHandle(client, workflow_id, result_type=Outcome).result()
            if (found, result.reason) in LOST_REPORTS:
                rechecked += 1
                continue
        mismatched[key] = f"expected {want}, found {found}"
    return RunCheck(
        runs=listing.runs,
        records_with_runs=len(latest),
        unended=listing.unended,
        without_outcome=listing.without_outcome,
        mismatched=mismatched,
        rechecked=rechecked,
        outcomes=listing.outcomes,
    )


@dataclass
class _Listing:
    runs: int = 0
    latest: dict[str, tuple[Any, str | None]] = field(default_factory=dict)
    unended: list[str] = field(default_factory=list)
    without_outcome: list[str] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)


def ended(status: WorkflowExecutionStatus | None, outcome: str | None) -> bool:
    """Whether a run ended as Ember ends runs: Completed (or continued as new), or Failed
    with the outcome ``failed`` or ``discarded``; not timed out, terminated or cancelled."""
    return status in ENDED or (status == FAILED and outcome in FAILING)


async def _list_runs(client: Client, workload: Workload) -> _Listing:
    """Every record run of the workload as visibility lists it; the last run per record."""
    query = (
        f"WorkflowType = '{naming.RECORD_WORKFLOW}' "
        f"AND WorkflowId STARTS_WITH '{workload.id_prefix}'"
    )
    listing = _Listing()
    async for execution in client.list_workflows(query, page_size=1000):
        listing.runs += 1
        outcome = execution.typed_search_attributes.get(OUTCOME_KEY)
        if not ended(execution.status, outcome):
            listing.unended.append(f"{execution.id} ({execution.status})")
        elif execution.status != WorkflowExecutionStatus.CONTINUED_AS_NEW:
            if outcome is None:
                listing.without_outcome.append(execution.id)
            listing.outcomes[outcome or "-"] += 1
            current = listing.latest.get(execution.id)
            if current is None or execution.start_time > current[0]:
                listing.latest[execution.id] = (execution.start_time, outcome)
    return listing


async def count_running(client: Client, workload: Workload) -> int:
    """How many of the trigger's workflows (scans and record runs) are running."""
    query = (
        f"WorkflowId STARTS_WITH '{workload.trigger.schedule_id}/' AND ExecutionStatus = 'Running'"
    )
    return (await client.count_workflows(query)).count


async def count_items(engine: AsyncEngine, *, status: str, plans: Iterable[str] = ()) -> int:
    """Items in ``status`` (only those with one of ``plans`` if given)."""
    query = select(func.count()).select_from(FaultItem).where(FaultItem.status == status)
    wanted = list(plans)
    if wanted:
        query = query.where(FaultItem.plan.in_(wanted))
    async with engine.connect() as connection:
        return int(await connection.scalar(query) or 0)


async def until(
    condition: Callable[[], Awaitable[bool]],
    *,
    timeout: float,
    what: str,
    every: float = 0.5,
    tolerate: tuple[type[BaseException], ...] = (),
) -> float:
    """Poll ``condition`` until true (errors in ``tolerate`` count as false); seconds waited.

    Raises:
        AssertionError: it did not hold within ``timeout`` seconds.
    """
    started = time.monotonic()
    told = started
    while True:
        try:
            if await condition():
                return time.monotonic() - started
        except tolerate:
            pass
        now = time.monotonic()
        if now - started > timeout:
            raise AssertionError(f"{what} did not hold within {timeout:g}s")
        if now - told > PROGRESS_EVERY:  # shown with the output of a test that fails
            print(f"{time.strftime('%H:%M:%S')} waiting {now - started:.0f}s for {what}")
            told = now
        await asyncio.sleep(every)


async def settle(
    client: Client,
    engine: AsyncEngine,
    workload: Workload,
    *,
    timeout: float,
    tolerate: tuple[type[BaseException], ...] = (),
    rescans: int = 2,
    every: float = 0.5,
) -> int:
    """Wait until the work is done, scanning again as the trigger's schedule would.

    A run can end without moving its row on (its on_error attempt was lost with a
    worker, its attempts ran out while a server was away); the row still matches, so
    the next scheduled scan runs it again. This waits until nothing runs; while rows
    remain pending it starts such a scan (at most ``rescans``). Returns how many.
    """
    deadline = time.monotonic() + timeout
    settling = [plan for plan, (_, kind) in PLANS.items() if kind is not None]
    for done in range(rescans + 1):
        remaining = max(deadline - time.monotonic(), 1.0)
        await wait_settled(
            client, engine, workload, timeout=remaining, tolerate=tolerate, rows=False, every=every
        )
        pending = await count_items(engine, status=PENDING, plans=settling)
        if not pending:
            return done
        if done == rescans:
            break
        print(f"{time.strftime('%H:%M:%S')} {pending} rows still pending: scanning again")
        scan = await TriggerClient(client, workload.domain).start_scan(workload.trigger)
        await scan.result()

        async def picked_up() -> bool:  # visibility trails the starts by a moment
            if not await count_items(engine, status=PENDING, plans=settling):
                return True
            return await count_running(client, workload) > 0

        with contextlib.suppress(AssertionError):
            await until(picked_up, timeout=30, what="the follow-up scan's runs", tolerate=tolerate)
    raise AssertionError(f"{pending} rows still pending after {rescans} follow-up scans")


async def wait_settled(
    client: Client,
    engine: AsyncEngine,
    workload: Workload,
    *,
    timeout: float,
    tolerate: tuple[type[BaseException], ...] = (),
    rows: bool = True,
    every: float = 0.5,
) -> float:
    """Wait until none of the trigger's workflows runs and (``rows``) no item is left
    pending that its plan would have moved on."""
    settling = [plan for plan, (_, kind) in PLANS.items() if kind is not None]

    async def settled() -> bool:
        if rows and await count_items(engine, status=PENDING, plans=settling):
            return False
        return await count_running(client, workload) == 0

    return await until(
        settled, timeout=timeout, what="the workload settling", tolerate=tolerate, every=every
    )


def unique_config(**options: Any) -> FaultConfig:
    """A configuration whose domain (and so every id and task queue) no other test uses."""
    return FaultConfig(domain=f"f{uuid.uuid4().hex[:10]}", **options)


def plan_items(
    count: int, weights: dict[str, int], *, seed: int = 7, first: int = 1
) -> dict[int, str]:
    """``count`` items from ``first`` on, each with its seeded-hash plan."""
    return {key: plan_for(seed, key, weights) for key in range(first, first + count)}


def worker_env(
    config: FaultConfig,
    database_url: str,
    temporal_address: str,
    *,
    concurrency: int = 10,
    **settings: str,
) -> dict[str, str]:
    """A worker subprocess's environment: Ember settings plus the fault app's knobs."""
    return {
        **config.env(),
        "EMBER_DATABASE_URL": database_url,
        "EMBER_TEMPORAL_ADDRESS": temporal_address,
        "EMBER_QUEUES": f"{FaultItem.__tablename__}={concurrency}",
        **{f"EMBER_{name.upper()}": value for name, value in settings.items()},
    }


@dataclass
class ChunkCheck:
    """What the chunk runs of a workload report, record by record."""

    chunks: int
    unended: list[str]
    outcomes: dict[int, str]
    tally: Counter[str]


async def check_chunk_runs(
    client: Client, workload: Workload, *, concurrency: int = 32
) -> ChunkCheck:
    """Every chunk run of the workload: ended? and each record's outcome (the latest chunk's)."""
    query = (
        f"WorkflowType = '{naming.CHUNK_WORKFLOW}' "
        f"AND WorkflowId STARTS_WITH '{workload.trigger.schedule_id}/'"
    )
    executions = [execution async for execution in client.list_workflows(query, page_size=1000)]
    finished, unended = [], []
    for e in executions:
        if ended(e.status, e.typed_search_attributes.get(OUTCOME_KEY)):
            finished.append(e)
        else:
            unended.append(f"{e.id} ({e.status})")
    gate = asyncio.Semaphore(concurrency)

    async def result(workflow_id: str, run_id: str) -> ChunkOutcome:
        async with gate:
            handle = RunHandle(client, workflow_id, run_id=run_id, result_type=ChunkOutcome)
            outcome: ChunkOutcome = await handle.result()
            return outcome

    completed = sorted(
        (e for e in finished if e.status != WorkflowExecutionStatus.CONTINUED_AS_NEW),
        key=lambda e: e.start_time,
    )
    results = await asyncio.gather(*(result(e.id, e.run_id) for e in completed))
    outcomes: dict[int, str] = {}
    for chunk in results:  # oldest first: a later chunk's outcome for a record wins
        for record, outcome in chunk.outcomes.items():
            outcomes[int(record)] = outcome.status
    return ChunkCheck(len(executions), unended, outcomes, Counter(outcomes.values()))
