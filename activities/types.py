"""The dataclasses workflows and activities exchange: one in, one out for each.

Pure dataclasses and constants (and pure helpers on them): workflow code imports this
module and must stay deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ember.activities.messages import TYPE_LIMIT, cut
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
UNAVAILABLE_ERROR = "ember.Unavailable"  # outages outlasted the retries: no attempt, no on_error
ACTION_FAILURE = "action"  # second detail of a failure of the action itself (it used an attempt)


def action_failed(details: Sequence[Any]) -> bool:
    """Whether a failure's details mark a failure of the action itself, retried while
    attempts remain (Discard, unknown actors and outages are not)."""
    return len(details) > 1 and details[1] == ACTION_FAILURE


def retry_delay_of(details: Sequence[Any]) -> float | None:
    """The delay before the next attempt an action failure carries, in seconds (its
    ``backoff`` function's; None: the policy's backoff applies)."""
    if action_failed(details) and len(details) > 2 and details[2] is not None:
        return float(details[2])
    return None


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

    The type and message are cut to a few KB (``ember.activities.messages``), wherever built.
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
    search_attributes: bool = True
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
    search_attributes: bool = True
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
    search_attributes: bool = True


@dataclass
class ChunkOutcome:
    """Output of the chunk workflow: one outcome per record."""

    outcomes: dict[str, Outcome] = field(default_factory=dict)
