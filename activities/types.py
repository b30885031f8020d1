"""The dataclasses workflows and activities exchange: one in, one out for each.

Pure dataclasses only: workflow code imports this module and must stay deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ember.activities.paging import TenantPaging

OutcomeStatus = Literal[
    "succeeded", "cancelled", "snoozed", "failed", "discarded", "errored_handled"
]
RunSource = Literal["trigger", "schedule", "direct"]

DISCARD_ERROR = "ember.Discard"
ACTOR_ERROR = "ember.ActorNotFound"
FORBIDDEN_ERROR = "ember.Forbidden"  # the action's policy denied the run
TIMEOUT_ERROR = "Timeout"  # the failure type of an attempt that ran out of time
FOREIGN_DOMAIN_ERROR = "ember.ForeignDomain"  # a run naming another domain's declaration
NO_LONGER_APPLIES = "trigger_no_longer_applies"


@dataclass(frozen=True)
class DeclarationRef:
    """Names a trigger or scheduled action in the worker's registry."""

    domain: str
    resource: str
    name: str

    @property
    def path(self) -> str:
        """``<domain>.<resource>.<name>``, as the declaration's own ``path``."""
        return f"{self.domain}.{self.resource}.{self.name}"


@dataclass(frozen=True)
class RetrySpec:
    """Attempts, spacing and per-attempt limit of an action, fixed when the run starts."""

    max_attempts: int = 1
    initial_seconds: float = 15.0
    coefficient: float = 2.0
    maximum_seconds: float = 3600.0
    timeout_seconds: float = 300.0
    local_activity: bool = False


@dataclass(frozen=True)
class FailureInfo:
    """Why an attempt failed: exception type, message and the attempt it happened on."""

    type: str
    message: str
    attempt: int


@dataclass
class Outcome:
    """How a run ended; also written to the ``EmberOutcome`` search attribute.

    ``status`` is one of succeeded, cancelled, snoozed, failed, discarded,
    errored_handled; ``reason`` explains cancelled and discarded runs.
    """

    status: OutcomeStatus
    attempts: int = 0
    error: FailureInfo | None = None
    reason: str | None = None


@dataclass
class RecordRun:
    """Input of the record workflow: one trigger, one tenant, one record."""

    trigger: DeclarationRef
    tenant: str | None
    record: str
    retry: RetrySpec = field(default_factory=RetrySpec)
    has_on_error: bool = False
    on_error_fails_job: bool = False
    source: RunSource = "trigger"
    input: dict[str, Any] | None = None
    attempts_used: int = 0
    set_outcome_attribute: bool = True
    scanned_at: float | None = None
    started_at: float | None = None  # the first run's start, carried across continue-as-new


@dataclass
class ActionRequest:
    """Input of ``run_trigger_action`` and ``run_on_error``."""

    trigger: DeclarationRef
    tenant: str | None
    record: str
    actor: dict[str, Any] | None
    source: RunSource
    input: dict[str, Any] | None = None
    attempts_before: int = 0
    max_attempts: int = 1
    error: FailureInfo | None = None
    started_at: float | None = None  # when the run started: the actor's age is counted to it
    chunk: list[str] | None = None  # a chunk run's records: its actor is signed for them all


@dataclass
class ActionResult:
    """What one action run reports back (failures are raised, not returned).

    ``status``: succeeded, cancelled (``reason`` says why), snoozed
    (``snooze_seconds``) or locked (the row lock was not had in time).
    """

    status: Literal["succeeded", "cancelled", "snoozed", "locked"]
    attempt: int
    reason: str | None = None
    snooze_seconds: float = 0.0


@dataclass
class ScanRequest:
    """Input of the scan workflow; the cursor fields carry a continued scan.

    ``tenants`` are the tenants asked for (None: every tenant of ``list_tenants``).
    """

    trigger: DeclarationRef
    tenants: list[str | None] | None = None
    paging: TenantPaging = field(default_factory=TenantPaging)
    cursor: list[Any] | None = None
    dispatched_for_tenant: int = 0
    dispatched: int = 0
    actor: dict[str, Any] | None = None
    batch_size: int = 500
    record_limit: int | None = None
    max_attempts: int = 1
    collect_runs: bool = False
    collected: CollectedRuns = field(default_factory=lambda: CollectedRuns())
    tenants_not_found: list[str] = field(default_factory=list)
    started_at: float | None = None  # the first run's start, carried across continue-as-new
    skipped: int = 0


@dataclass
class TenantsRequest:
    """Input of ``list_tenants``: the page of tenants whose names sort after ``after``."""

    declaration: DeclarationRef
    scheduled_action: bool = False
    after: str | None = None


@dataclass
class TenantsResult:
    """One page of tenants to run for; ``[None]`` for a resource without tenants.

    ``next_after`` starts the next page (None: this is the last); ``listed`` is
    how many tenants the page held before a scan left out those without rows.
    """

    tenants: list[str | None]
    next_after: str | None = None
    listed: int = 0


@dataclass
class ScanPageRequest:
    """Input of ``scan_and_dispatch``: one keyset page after ``cursor``."""

    trigger: DeclarationRef
    tenant: str | None
    cursor: list[Any] | None
    limit: int
    actor: dict[str, Any] | None = None
    collect_runs: bool = False
    started_at: float | None = None


@dataclass
class ScanPage:
    """Output of ``scan_and_dispatch``: how many records it dispatched, where to go on.

    ``started`` names the runs started when the request asked to collect them (in
    the global scope, whose runs take their records' tenants: ``started_by_tenant``);
    ``tenant_not_found``: the tenant's schema is missing, nothing was read;
    ``skipped`` counts rows that cannot have a run (their run id is over
    Temporal's limit).
    """

    dispatched: int
    cursor: list[Any] | None
    last_page: bool
    started: TenantRuns | None = None
    tenant_not_found: bool = False
    skipped: int = 0
    started_by_tenant: list[TenantRuns] = field(default_factory=list)


@dataclass
class TenantRuns:
    """The runs a scan started for one tenant: record keys, and chunks as [first, last] keys."""

    tenant: str | None
    records: list[str] = field(default_factory=list)
    chunks: list[list[str]] = field(default_factory=list)

    @property
    def size(self) -> int:
        """Roughly the bytes these take in a payload."""
        keys = self.records + [key for chunk in self.chunks for key in chunk]
        return sum(len(key) + 4 for key in keys)


COLLECT_LIMIT = 1_000_000
"""Bytes of run keys a drain's scan collects at most, well inside Temporal's 2 MiB payloads."""


@dataclass
class CollectedRuns:
    """The runs a drain's scan started, by tenant; ``overflowed`` once past ``COLLECT_LIMIT``."""

    tenants: list[TenantRuns] = field(default_factory=list)
    size: int = 0
    overflowed: bool = False

    def add(self, started: TenantRuns) -> None:
        """Keep ``started``, unless that would pass the limit (then only note the overflow)."""
        if self.overflowed or self.size + started.size > COLLECT_LIMIT:
            self.overflowed = True
            return
        self.size += started.size
        if self.tenants and self.tenants[-1].tenant == started.tenant:
            self.tenants[-1].records += started.records
            self.tenants[-1].chunks += started.chunks
        else:
            self.tenants.append(started)


TENANTS_NOT_FOUND_LISTED = 100
"""Missing tenants a scan names at most in its summary (the worker logs every one)."""


@dataclass
class ScanSummary:
    """Output of the scan workflow; ``collected`` only when the scan was asked to collect.

    ``tenants_not_found``: tenants (as in ids) whose schema is missing, not scanned.
    ``tenants`` counts the tenants listed; ``skipped`` the rows that matched but
    cannot have a run (their run id is over Temporal's limit).
    """

    dispatched: int
    tenants: int
    collected: CollectedRuns = field(default_factory=CollectedRuns)
    tenants_not_found: list[str] = field(default_factory=list)
    skipped: int = 0


@dataclass
class ScheduledActionRequest:
    """Input of ``run_scheduled_action`` for one tenant."""

    schedule: DeclarationRef
    tenant: str | None
    max_attempts: int
    actor: dict[str, Any] | None = None
    attempts_before: int = 0
    input: dict[str, Any] | None = None
    started_at: float | None = None  # when the run started: the actor's age is counted to it


OUTCOMES_LIMIT = 256 * 1024
"""Bytes of per-tenant outcomes a scheduled action keeps at most (it may run for many tenants)."""


@dataclass
class ScheduledOutcome:
    """Output of the scheduled-action workflow: one outcome per tenant.

    ``counts`` counts every tenant's status; ``outcomes`` holds each tenant's
    outcome up to ``OUTCOMES_LIMIT`` bytes, ``omitted`` how many did not fit.
    """

    outcomes: dict[str, Outcome] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    omitted: int = 0
    size: int = 0

    def add(self, tenant: str, outcome: Outcome) -> None:
        """Count ``outcome``, and keep it unless that would pass the limit."""
        self.counts[outcome.status] = self.counts.get(outcome.status, 0) + 1
        error = outcome.error
        size = 64 + len(tenant) + len(outcome.reason or "")
        size += 0 if error is None else len(error.type) + len(error.message)
        if self.size + size > OUTCOMES_LIMIT:
            self.omitted += 1
            return
        self.size += size
        self.outcomes[tenant] = outcome


@dataclass
class ScheduledRun:
    """Input of the scheduled-action workflow; ``paging`` and ``result`` carry a continued run.

    ``tenants`` are the tenants asked for (None: every tenant of its ``tenants``).
    """

    schedule: DeclarationRef
    retry: RetrySpec = field(default_factory=RetrySpec)
    tenants: list[str | None] | None = None
    set_outcome_attribute: bool = True
    paging: TenantPaging = field(default_factory=TenantPaging)
    result: ScheduledOutcome = field(default_factory=ScheduledOutcome)
    input: dict[str, Any] | None = None  # merged over action_input (``schedule(input=...)``)
    started_at: float | None = None  # the first run's start, carried across continue-as-new


@dataclass(frozen=True)
class ChunkItem:
    """One record of a chunk and the attempts it has used."""

    record: str
    attempts_before: int = 0


@dataclass
class ChunkRequest:
    """Input of ``run_trigger_chunk``: records acted on one by one, each in its transaction."""

    trigger: DeclarationRef
    tenant: str | None
    actor: dict[str, Any] | None
    source: RunSource
    items: list[ChunkItem]
    max_attempts: int
    timeout_seconds: float
    records: list[str] | None = None  # every record of the chunk (its actor's scope)
    started_at: float | None = None


@dataclass
class ChunkItemResult:
    """How one record of a chunk fared: a result, or a failure (``final``: not retryable;
    ``retry_delay_seconds``: the wait before its next attempt, when ``backoff`` is a function).
    """

    record: str
    result: ActionResult | None = None
    failure: FailureInfo | None = None
    final: bool = False
    retry_delay_seconds: float | None = None


@dataclass
class ChunkResult:
    """Output of ``run_trigger_chunk``."""

    items: list[ChunkItemResult]


@dataclass
class ChunkRun:
    """Input of the chunk workflow: one trigger, one tenant, many records."""

    trigger: DeclarationRef
    tenant: str | None
    records: list[str]
    retry: RetrySpec = field(default_factory=RetrySpec)
    has_on_error: bool = False
    on_error_fails_job: bool = False
    source: RunSource = "trigger"
    set_outcome_attribute: bool = True


@dataclass
class ChunkOutcome:
    """Output of the chunk workflow: one outcome per record."""

    outcomes: dict[str, Outcome] = field(default_factory=dict)
