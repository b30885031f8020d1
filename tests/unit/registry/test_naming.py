"""Every id, task queue and search attribute name Ember makes (registry/naming.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ember.registry import ActionContext, Domain, naming


class Base(DeclarativeBase):
    """Declarative base of this module."""


class Invoice(Base):
    """The resource the declarations' names are checked on."""

    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop: Mapped[str] = mapped_column(String(20))


async def remind(invoice: Invoice, ctx: ActionContext) -> None:
    """A record action."""


async def summarise(ctx: ActionContext) -> None:
    """A generic action."""


def test_schedule_id_of_a_trigger_or_scheduled_action() -> None:
    assert naming.schedule_id("billing", "invoices", "remind") == "ember/billing/invoices/remind"
    assert naming.domain_prefix("billing") == "ember/billing/"
    assert naming.schedule_id("billing", "invoices", "x").startswith(
        naming.domain_prefix("billing")
    )


@pytest.mark.parametrize(
    ("tenant", "expected"),
    [
        (None, "ember/billing/invoices/remind/-/42"),
        ("acme", "ember/billing/invoices/remind/acme/42"),
    ],
)
def test_record_workflow_id(tenant: str | None, expected: str) -> None:
    assert naming.record_workflow_id("billing", "invoices", "remind", tenant, "42") == expected


def test_record_workflow_ids_are_deterministic_and_distinct_per_record_and_tenant() -> None:
    ids = {
        naming.record_workflow_id("billing", "invoices", "remind", tenant, pk)
        for tenant in (None, "acme", "initech")
        for pk in ("1", "2")
    }
    assert len(ids) == 6
    again = naming.record_workflow_id("billing", "invoices", "remind", "acme", "1")
    assert again in ids


def test_ids_of_chunk_scan_and_scheduled_action_runs() -> None:
    assert (
        naming.chunk_workflow_id("billing", "invoices", "remind", None, "1", "500")
        == "ember/billing/invoices/remind/-/chunk/1..500"
    )
    assert (
        naming.scan_workflow_id("billing", "invoices", "remind", "acme")
        == "ember/billing/invoices/remind/acme/scan"
    )
    assert (
        naming.scheduled_action_workflow_id("billing", "invoices", "summary", None)
        == "ember/billing/invoices/summary/-/run"
    )


def test_tenant_part() -> None:
    assert naming.tenant_part(None) == naming.NO_TENANT == "-"
    assert naming.tenant_part("acme") == "acme"


def test_trigger_key() -> None:
    assert naming.trigger_key("billing", "invoices", "remind") == "billing/invoices/remind"


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [("", "billing.invoices"), ("staging", "staging.billing.invoices")],
)
def test_task_queue_with_and_without_a_settings_prefix(prefix: str, expected: str) -> None:
    assert naming.task_queue("billing", "invoices", prefix) == expected


def test_task_queue_defaults_to_no_prefix() -> None:
    assert naming.task_queue("billing", "mail") == "billing.mail"


def test_search_attribute_names() -> None:
    assert naming.SEARCH_ATTRIBUTES == (
        "EmberTrigger",
        "EmberResource",
        "EmberTenant",
        "EmberRecord",
        "EmberOutcome",
    )
    assert (
        naming.TRIGGER_ATTRIBUTE,
        naming.RESOURCE_ATTRIBUTE,
        naming.TENANT_ATTRIBUTE,
        naming.RECORD_ATTRIBUTE,
        naming.OUTCOME_ATTRIBUTE,
    ) == naming.SEARCH_ATTRIBUTES


def test_declarations_take_their_names_from_naming() -> None:
    domain = Domain("billing")
    invoices = domain.resource(Invoice)
    invoices.action(remind)
    invoices.action(summarise)
    trigger = invoices.trigger("remind", action=remind)
    scheduled = invoices.schedule("summary", cron="@daily", action=summarise)
    assert trigger.schedule_id == "ember/billing/invoices/remind"
    assert trigger.workflow_id("acme", "42") == "ember/billing/invoices/remind/acme/42"
    assert trigger.workflow_id(None, "42") == "ember/billing/invoices/remind/-/42"
    assert trigger.key == "billing/invoices/remind"
    assert trigger.path == "billing.invoices.remind"
    assert scheduled.schedule_id == "ember/billing/invoices/summary"
    assert scheduled.path == "billing.invoices.summary"


def test_resource_name_is_the_table_name_unless_given() -> None:
    domain = Domain("billing")
    assert domain.resource(Invoice).name == "invoices"
    renamed = domain.resource(Invoice, name="bills")
    assert renamed.name == "bills"
    assert renamed.path == "billing.bills"
    renamed.action(remind)
    assert renamed.trigger("remind", action=remind).schedule_id == "ember/billing/bills/remind"
