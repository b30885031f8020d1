"""Every Temporal id, task queue and search attribute name Ember uses is made here."""

from __future__ import annotations

NO_TENANT = "-"
PREFIX = "ember"
MAX_ID_BYTES = 1000
"""Temporal's default limit on workflow ids (the server's ``limit.maxIDLength``), in bytes."""

SEARCH_ATTRIBUTES = ("EmberTrigger", "EmberResource", "EmberTenant", "EmberRecord", "EmberOutcome")
TRIGGER_ATTRIBUTE, RESOURCE_ATTRIBUTE, TENANT_ATTRIBUTE, RECORD_ATTRIBUTE, OUTCOME_ATTRIBUTE = (
    SEARCH_ATTRIBUTES
)

RECORD_WORKFLOW = "ember.RecordTrigger"
CHUNK_WORKFLOW = "ember.ChunkTrigger"
SCAN_WORKFLOW = "ember.TriggerScan"
SCHEDULED_ACTION_WORKFLOW = "ember.ScheduledAction"
RUN_NOW_SIGNAL = "run_now"
STATE_QUERY = "state"


def domain_prefix(domain: str) -> str:
    """The id prefix shared by everything of one domain: ``ember/<domain>/``."""
    return f"{PREFIX}/{domain}/"


def schedule_id(domain: str, resource: str, name: str) -> str:
    """Schedule id of a trigger or scheduled action."""
    return f"{domain_prefix(domain)}{resource}/{name}"


def tenant_part(tenant: str | None) -> str:
    """The tenant as it appears in ids and search attributes."""
    return NO_TENANT if tenant is None else tenant


def record_workflow_id(
    domain: str, resource: str, trigger: str, tenant: str | None, pk: str
) -> str:
    """Deterministic id of the run of ``trigger`` for one record."""
    return f"{schedule_id(domain, resource, trigger)}/{tenant_part(tenant)}/{pk}"


def chunk_workflow_id(
    domain: str, resource: str, trigger: str, tenant: str | None, first: str, last: str
) -> str:
    """Id of a chunk run: the trigger's runs for the records ``first`` to ``last``."""
    return f"{schedule_id(domain, resource, trigger)}/{tenant_part(tenant)}/chunk/{first}..{last}"


def scan_workflow_id(domain: str, resource: str, trigger: str, tenant: str | None) -> str:
    """Id of a scan started on demand (schedules make their own ids)."""
    return f"{schedule_id(domain, resource, trigger)}/{tenant_part(tenant)}/scan"


def scheduled_action_workflow_id(domain: str, resource: str, name: str, tenant: str | None) -> str:
    """Id of a scheduled action run started on demand."""
    return f"{schedule_id(domain, resource, name)}/{tenant_part(tenant)}/run"


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
LIST_TENANTS = "ember.list_tenants"
SCAN_AND_DISPATCH = "ember.scan_and_dispatch"
RUN_SCHEDULED_ACTION = "ember.run_scheduled_action"
