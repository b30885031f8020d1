"""Trigger and ScheduledAction: bound to their resource, options checked on use."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ember.registry import ActionContext, Domain, Problem, RegistryError, Resource


class Base(DeclarativeBase):
    """Declarative base of this module."""


class Shipment(Base):
    """The resource declarations are made on."""

    __tablename__ = "shipments"

    id: Mapped[int] = mapped_column(primary_key=True)


async def dispatch(shipment: Shipment, ctx: ActionContext) -> None:
    """A record action."""


async def flag(shipment: Shipment, ctx: ActionContext) -> None:
    """The compensating action."""


async def audit(ctx: ActionContext) -> None:
    """A generic action."""


def shipments() -> Resource:
    resource = Domain("logistics").resource(Shipment)
    resource.action(dispatch)
    resource.action(flag)
    resource.action(audit)
    return resource


def test_a_trigger_resolves_its_actions() -> None:
    trigger = shipments().trigger("go", action=dispatch, on_error="flag")
    assert trigger.action.function is dispatch
    on_error = trigger.on_error_action
    assert on_error is not None and on_error.function is flag
    assert shipments().trigger("plain", action=dispatch).on_error_action is None


def test_a_scheduled_action_resolves_its_action() -> None:
    scheduled = shipments().schedule("nightly", cron="@daily", action="audit")
    assert scheduled.action.function is audit


def test_using_an_invalid_declaration_raises_its_problems() -> None:
    trigger = shipments().trigger("go", action=dispatch, max_attempt=3)
    with pytest.raises(RegistryError) as raised:
        _ = trigger.options
    assert raised.value.problems == [
        Problem(
            "logistics.shipments.go.max_attempt",
            "a known option",
            "unknown option",
            "did you mean 'max_attempts'?",
        )
    ]
    scheduled = shipments().schedule("nightly", action=audit)
    with pytest.raises(RegistryError, match=r"logistics\.shipments\.nightly\.cron"):
        _ = scheduled.queue


@pytest.mark.parametrize(
    ("scheduler_cron", "state", "has_schedule"),
    [
        ("* * * * *", "active", True),
        ("* * * * *", "paused", True),
        ("* * * * *", "deleted", False),
        (None, "active", False),
    ],
)
def test_trigger_has_a_schedule_unless_deleted_or_without_cron(
    scheduler_cron: str | None, state: str, has_schedule: bool
) -> None:
    trigger = shipments().trigger("go", action=dispatch, scheduler_cron=scheduler_cron, state=state)
    assert trigger.has_schedule is has_schedule


@pytest.mark.parametrize(
    ("state", "has_schedule"), [("active", True), ("paused", True), ("deleted", False)]
)
def test_scheduled_action_has_a_schedule_unless_deleted(state: str, has_schedule: bool) -> None:
    scheduled = shipments().schedule("nightly", cron="@daily", action=audit, state=state)
    assert scheduled.has_schedule is has_schedule


def test_declarations_are_kept_in_order_on_their_resource() -> None:
    resource = shipments()
    first = resource.trigger("b", action=dispatch)
    second = resource.trigger("a", action=dispatch)
    scheduled = resource.schedule("c", cron="@daily", action=audit)
    assert list(resource.triggers.values()) == [first, second]
    assert list(resource.schedules.values()) == [scheduled]
    assert first.resource is resource and first.domain_name == "logistics"
