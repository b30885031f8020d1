"""The ids of a trigger's runs, checked against Temporal's id limit, and how a scan
page's keys become runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ember.registry import InvalidArgument, Trigger, naming

SHOWN_KEY = 40  # characters of an oversized key an error shows


class RunIdTooLong(InvalidArgument):
    """A record's run id would pass Temporal's id limit: no run can start for it."""


def record_run_id(
    trigger: Trigger,
    tenant: str | None,
    key: str,
    prefix: str = "",
    action_input: dict[str, Any] | None = None,
) -> str:
    """The id of ``trigger``'s run for one record; ``RunIdTooLong`` past Temporal's limit."""
    run_id = trigger.workflow_id(tenant, key, prefix, action_input)
    size = len(run_id.encode())
    if size > naming.MAX_ID_BYTES:
        shown = key if len(key) <= SHOWN_KEY else f"{key[:SHOWN_KEY]}... ({len(key)} characters)"
        raise RunIdTooLong(
            f"record: expected a run id of at most {naming.MAX_ID_BYTES} bytes (Temporal's "
            f"workflow id limit), found {size} bytes for {trigger.path} on key {shown!r} "
            f"(tenant of {len(naming.tenant_part(tenant))} characters); no run can start for "
            f"this record; fix: give {trigger.resource.name} a shorter primary key (or tenant)"
        )
    return run_id


def chunk_run_id(
    trigger: Trigger, tenant: str | None, first: str, last: str, prefix: str = ""
) -> str:
    """The id of ``trigger``'s chunk run for the records ``first`` to ``last``."""
    return naming.chunk_workflow_id(
        trigger.domain_name, trigger.resource.name, trigger.name, tenant, first, last, prefix=prefix
    )


@dataclass
class RunPlan:
    """The runs for one scan page: record runs, chunk runs, and why other keys have none."""

    records: list[str] = field(default_factory=list)
    chunks: list[list[str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def plan_runs(
    trigger: Trigger, tenant: str | None, keys: Iterable[str], prefix: str = ""
) -> RunPlan:
    """Group a page's keys into runs, skipping keys whose run id Temporal would refuse.

    With ``chunk_size``, a key that cannot be in a chunk (the chunk's id, made
    of its first and last key, would be too long) gets a record run instead.
    """
    plan = RunPlan()
    size = trigger.options.chunk_size

    def fits(first: str, last: str) -> bool:
        return (
            len(chunk_run_id(trigger, tenant, first, last, prefix).encode()) <= naming.MAX_ID_BYTES
        )

    for key in keys:
        try:
            record_run_id(trigger, tenant, key, prefix)
        except RunIdTooLong as error:
            plan.skipped.append(str(error))
            continue
        chunk = plan.chunks[-1] if plan.chunks else []
        if size is None:
            plan.records.append(key)
        elif chunk and len(chunk) < size and fits(chunk[0], key):
            chunk.append(key)
        elif fits(key, key):
            plan.chunks.append([key])
        else:
            plan.records.append(key)
    return plan
