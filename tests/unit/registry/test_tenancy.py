"""The schema strategy's name checks, made before anything touches the database."""

from __future__ import annotations

import pytest

from ember.registry import Domain
from ember.registry.tables import trigger_completions
from ember.registry.targets import record_target
from ember.registry.tenancy import (
    EMBER_HOME,
    TenantNotFound,
    check_schema_name,
    completions_table,
    refused,
)
from examples.helpdesk.models import Ticket


def schema_tickets() -> Domain:
    domain = Domain("desk")
    tickets = domain.resource(Ticket, tenant_schema=True)

    @tickets.action
    async def touch(ticket: Ticket, ctx: object) -> None:
        """Nothing."""

    tickets.trigger("touch", action=touch, scheduler_cron=None)
    return domain


@pytest.mark.parametrize("name", ["a" * 63, "é" * 31 + "a", "Acme Corp", "t1"], ids=len)
def test_a_name_of_at_most_63_bytes_can_name_a_schema(name: str) -> None:
    resource = schema_tickets().get_resource("tickets")
    assert check_schema_name(resource, name) == name


@pytest.mark.parametrize(
    ("name", "found"),
    [
        (None, "found none"),
        ("", "found an empty name"),
        ("a" * 64, "64 bytes (PostgreSQL names have at most 63)"),
        ("é" * 32, "64 bytes (PostgreSQL names have at most 63)"),  # 32 characters
    ],
    ids=["none", "empty", "64 ascii", "64 bytes in 32 characters"],
)
def test_a_name_that_cannot_name_a_schema_is_not_found(name: str | None, found: str) -> None:
    resource = schema_tickets().get_resource("tickets")
    with pytest.raises(TenantNotFound) as error:
        check_schema_name(resource, name)
    assert found in str(error.value)
    assert "table tickets (desk.tickets is tenant_schema=True)" in str(error.value)


def test_clients_refuse_it_as_bad_input_before_anything_starts() -> None:
    trigger = schema_tickets().get_trigger("tickets", "touch")
    with pytest.raises(ValueError, match=r"found 'a+', 64 bytes .* fix: pass an existing"):
        record_target(trigger, (Ticket, 1), "a" * 64, None)
    assert record_target(trigger, (Ticket, 1), "acme", None).tenant == "acme"
    with pytest.raises(ValueError, match="found none"), refused():
        raise TenantNotFound("tenant: expected a schema, found none")


def test_ember_names_its_own_table_apart_inside_a_tenants_transaction() -> None:
    domain = schema_tickets()
    plain = domain.resource(Ticket, name="plain")
    assert completions_table(domain.get_resource("tickets")).schema == EMBER_HOME
    assert completions_table(plain) is trigger_completions
