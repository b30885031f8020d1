"""Every Temporal id, task queue and search attribute name Ember uses is made here."""

from __future__ import annotations

import hashlib
import json
from typing import Any

NO_TENANT = "-"
PREFIX = "ember"
MAX_ID_BYTES = 1000
"""Temporal's default limit on workflow ids (the server's ``limit.maxIDLength``), in bytes."""

SEARCH_ATTRIBUTES = ("EmberTrigger", "EmberResource", "EmberTenant", "EmberRecord", "EmberOutcome")
"""Ember's Keyword search attributes (set on every run)."""
TRIGGER_ATTRIBUTE, RESOURCE_ATTRIBUTE, TENANT_ATTRIBUTE, RECORD_ATTRIBUTE, OUTCOME_ATTRIBUTE = (
    SEARCH_ATTRIBUTES
)
TAGS_ATTRIBUTE = "EmberTags"
"""Ember's KeywordList search attribute: a trigger's ``tags`` (set on runs of tagged triggers)."""
KEYWORD_LIST_ATTRIBUTES = (TAGS_ATTRIBUTE,)

RECORD_WORKFLOW = "ember.RecordTrigger"
CHUNK_WORKFLOW = "ember.ChunkTrigger"
BULK_CHUNK_WORKFLOW = "ember.BulkChunkTrigger"
SCAN_WORKFLOW = "ember.TriggerScan"
SCHEDULED_ACTION_WORKFLOW = "ember.ScheduledAction"
RUN_FAILED_ERROR = "ember.RunFailed"
"""Failure type of record and chunk runs that end failed or discarded (Temporal status Failed)."""
RUN_NOW_SIGNAL = "run_now"
STATE_QUERY = "state"


PREFIX_CHARACTERS = "letters, digits, '_', '-' or '.'"


def check_prefix(prefix: str, name: str = "EMBER_TASK_QUEUE_PREFIX") -> str:
    """``prefix`` if it is a valid task queue prefix, else a ValueError naming ``name``.

    A prefix holds no ``/``, so it can never run into the domain part of an id.
    """
    if not all(c.isalnum() or c in "_-." for c in prefix):
        raise ValueError(
            f"{name}: expected {PREFIX_CHARACTERS} (or nothing), found {prefix!r}; "
            "fix: choose a prefix such as 'staging'"
        )
    return prefix


def domain_prefix(domain: str, prefix: str = "") -> str:
    """The id prefix shared by everything of one domain in one environment.

    ``ember/<domain>/`` without a task queue prefix (the ids of earlier
    versions), ``ember@<prefix>/<domain>/`` with one. A prefix holds no ``/``
    and a domain name no ``@``, so two environments, or an environment and a
    domain, never share an id prefix.
    """
    return f"{PREFIX}@{prefix}/{domain}/" if prefix else f"{PREFIX}/{domain}/"


def schedule_id(domain: str, resource: str, name: str, *, prefix: str = "") -> str:
    """Schedule id of a trigger or scheduled action (``prefix``: the task queue prefix)."""
    return f"{domain_prefix(domain, prefix)}{resource}/{name}"


def tenant_part(tenant: str | None) -> str:
    """The tenant as it appears in ids and search attributes."""
    return NO_TENANT if tenant is None else tenant


INPUT_DIGEST_LENGTH = 12


def input_digest(action_input: dict[str, Any]) -> str:
    """A short digest of ``action_input`` as canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(action_input, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:INPUT_DIGEST_LENGTH]


def _with_input(run_id: str, action_input: dict[str, Any] | None) -> str:
    """``run_id``, followed by ``/input-<digest>`` for a run with input of its own."""
    return run_id if action_input is None else f"{run_id}/input-{input_digest(action_input)}"


def record_workflow_id(
    domain: str,
    resource: str,
    trigger: str,
    tenant: str | None,
    pk: str,
    *,
    prefix: str = "",
    action_input: dict[str, Any] | None = None,
) -> str:
    """Deterministic id of the run of ``trigger`` for one record.

    ``action_input``: the run's input when it is not the trigger's own; runs with
    different input then have different ids (``.../<pk>/input-<digest>``).
    """
    base = f"{schedule_id(domain, resource, trigger, prefix=prefix)}/{tenant_part(tenant)}/{pk}"
    return _with_input(base, action_input)


def chunk_workflow_id(
    domain: str,
    resource: str,
    trigger: str,
    tenant: str | None,
    first: str,
    last: str,
    *,
    prefix: str = "",
) -> str:
    """Id of a chunk run: the trigger's runs for the records ``first`` to ``last``."""
    base = schedule_id(domain, resource, trigger, prefix=prefix)
    return f"{base}/{tenant_part(tenant)}/chunk/{first}..{last}"


def scan_workflow_id(
    domain: str, resource: str, trigger: str, tenant: str | None, *, prefix: str = ""
) -> str:
    """Id of a scan started on demand (schedules make their own ids)."""
    return f"{schedule_id(domain, resource, trigger, prefix=prefix)}/{tenant_part(tenant)}/scan"


def scheduled_action_workflow_id(
    domain: str,
    resource: str,
    name: str,
    tenant: str | None,
    *,
    prefix: str = "",
    action_input: dict[str, Any] | None = None,
) -> str:
    """Id of a scheduled action run started on demand (``action_input`` as for records)."""
    base = f"{schedule_id(domain, resource, name, prefix=prefix)}/{tenant_part(tenant)}/run"
    return _with_input(base, action_input)


def trigger_key(domain: str, resource: str, trigger: str) -> str:
    """The key a trigger's rows carry in Ember's own tables."""
    return f"{domain}/{resource}/{trigger}"


def task_queue(domain: str, queue: str, prefix: str = "") -> str:
    """Temporal task queue of an Ember queue: ``[<prefix>.]<domain>.<queue>``."""
    base = f"{domain}.{queue}"
    return f"{prefix}.{base}" if prefix else base


RUN_TRIGGER_ACTION = "ember.run_trigger_action"
RUN_ON_ERROR = "ember.run_on_error"
RUN_TRIGGER_CHUNK = "ember.run_trigger_chunk"
RUN_BULK_CHUNK = "ember.run_bulk_chunk"
RUN_BULK_ON_ERROR = "ember.run_bulk_on_error"
LIST_TENANTS = "ember.list_tenants"
SCAN_AND_DISPATCH = "ember.scan_and_dispatch"
RUN_SCHEDULED_ACTION = "ember.run_scheduled_action"


def visibility_literal(value: str) -> str:
    """``value`` as a string literal of a Temporal visibility query.

    Single-quoted, with backslash and quote escaped: names, tenants and record
    keys never end the literal or change the query.
    """
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"
