"""The dataclasses of scans: the scan workflow's input and summary, tenant pages, scan
pages and the runs a drain's scan collected.

Pure dataclasses: workflow code imports this module and must stay deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ember.activities.paging import TenantPaging
from ember.activities.types import DeclarationRef


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
