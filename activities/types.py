"""The dataclasses workflows and activities exchange: one in, one out for each.

Pure dataclasses and constants (and pure helpers on them): this module is imported
inside the workflow sandbox.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from activities.messages import TYPE_LIMIT, cut

OutcomeStatus = Literal[
    "succeeded", "cancelled", "snoozed", "failed", "discarded", "errored_handled"
]
RunSource = Literal["trigger", "schedule", "direct"]

DISCARD_ERROR = "ember.Discard"
ACTOR_ERROR = "ember.ActorNotFound"
TIMEOUT_ERROR = "Timeout"  # the failure type of an attempt that ran out of time
FOREIGN_DOMAIN_ERROR = "ember.ForeignDomain"  # a run naming another domain's declaration
NO_LONGER_APPLIES = "trigger_no_longer_applies"
UNAVAILABLE_ERROR = "ember.Unavailable"  # outages outlasted the retries: no attempt, no on_error
ACTION_FAILURE = "action"  # second detail of a failure of the action itself (it used an attempt)


def action_failed(details: Sequence[Any]) -> bool:
    """Whether a failure's details mark a failure of the action itself, retried while
    attempts remain (Discard, unknown actors and outages are not)."""
    return len(details) > 1 and details[1] == ACTION_FAILURE


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
    """Why an attempt failed: exception type, message and the attempt it happened on.

    The type and message are cut to a few KB (``activities.messages``), wherever built.
    """

    type: str
    message: str
    attempt: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", cut(self.type, TYPE_LIMIT))
        object.__setattr__(self, "message", cut(self.message))


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
    timeout_seconds: float | None = None  # the action's limit; None: the trigger's timeout


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
    """Input of the scan workflow; the cursor fields carry a continued scan."""

    trigger: DeclarationRef
    tenants: list[str | None] | None = None
    tenant_index: int = 0
    cursor: list[Any] | None = None
    dispatched_for_tenant: int = 0
    dispatched: int = 0
    actor: dict[str, Any] | None = None
    batch_size: int = 500
    record_limit: int | None = None
    max_attempts: int = 1
    collect_runs: bool = False
    collected: CollectedRuns = field(default_factory=lambda: CollectedRuns())


@dataclass
class TenantsRequest:
    """Input of ``list_tenants``."""

    declaration: DeclarationRef
    scheduled_action: bool = False


@dataclass
class TenantsResult:
    """The tenants to run for; ``[None]`` for a resource without tenants."""

    tenants: list[str | None]


@dataclass
class ScanPageRequest:
    """Input of ``scan_and_dispatch``: one keyset page after ``cursor``."""

    trigger: DeclarationRef
    tenant: str | None
    cursor: list[Any] | None
    limit: int
    actor: dict[str, Any] | None = None
    collect_runs: bool = False


@dataclass
class ScanPage:
    """Output of ``scan_and_dispatch``: how many records it dispatched, where to go on.

    ``started`` names the runs started when the request asked to collect them.
    """

    dispatched: int
    cursor: list[Any] | None
    last_page: bool
    started: TenantRuns | None = None


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


@dataclass
class ScanSummary:
    """Output of the scan workflow; ``collected`` only when the scan was asked to collect."""

    dispatched: int
    tenants: int
    collected: CollectedRuns = field(default_factory=CollectedRuns)


@dataclass
class ScheduledRun:
    """Input of the scheduled-action workflow."""

    schedule: DeclarationRef
    retry: RetrySpec = field(default_factory=RetrySpec)
    tenants: list[str | None] | None = None
    set_outcome_attribute: bool = True


@dataclass
class ScheduledActionRequest:
    """Input of ``run_scheduled_action`` for one tenant."""

    schedule: DeclarationRef
    tenant: str | None
    max_attempts: int
    actor: dict[str, Any] | None = None
    attempts_before: int = 0
    timeout_seconds: float | None = None  # the action's limit; None: the schedule's timeout


@dataclass
class ScheduledOutcome:
    """Output of the scheduled-action workflow: one outcome per tenant."""

    outcomes: dict[str, Outcome] = field(default_factory=dict)


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


@dataclass
class ChunkItemResult:
    """How one record of a chunk fared: a result, or a failure (``final``: not retryable)."""

    record: str
    result: ActionResult | None = None
    failure: FailureInfo | None = None
    final: bool = False


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
