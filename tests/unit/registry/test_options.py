"""Option models: every default of the README DSL reference, Backoff, normalisation, strictness."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ember.registry import ActionContext, Backoff, Domain, ScheduleOptions, TriggerOptions


class Base(DeclarativeBase):
    """Declarative base of this module."""


class Parcel(Base):
    """The resource queue defaults are checked on."""

    __tablename__ = "parcels"

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier: Mapped[str] = mapped_column(String(20))


async def ship(parcel: Parcel, ctx: ActionContext) -> None:
    """A record action."""


async def report(ctx: ActionContext) -> None:
    """A generic action."""


DEFAULT_BACKOFF = Backoff(
    initial=timedelta(seconds=15), coefficient=2.0, maximum=timedelta(hours=1)
)

# The README's "Trigger options": every option but the required `action`.
TRIGGER_DEFAULTS: dict[str, Any] = {
    "where": None,
    "scheduler_cron": "* * * * *",
    "timezone": "UTC",
    "queue": None,  # the resource name, see test_queue_defaults_follow_the_resource
    "scheduler_queue": None,  # the queue
    "max_attempts": 1,
    "max_scheduler_attempts": 1,
    "backoff": DEFAULT_BACKOFF,
    "timeout": timedelta(minutes=5),
    "on_error": None,
    "on_error_fails_job": False,
    "lock_for_update": True,
    "trigger_once": False,
    "read_action": None,
    "worker_read_action": None,
    "sort": None,  # the primary key
    "record_limit": None,
    "stream_batch_size": 500,
    "read_metadata": None,
    "action_input": {},
    "extra_args": {},
    "tags": (),
    "list_tenants": None,  # the resource's
    "use_tenant_from_record": True,  # the global scope runs under each record's tenant
    "state": "active",
    "worker_priority": 2,
    "scheduler_priority": 2,
    "debug": False,
    "log_errors": True,
    "log_final_error": True,
    "chunk_size": None,
    "local_activity": False,
    "actor_persister": None,  # the resource's
    "default_actor": None,  # the domain's
}

SCHEDULE_DEFAULTS: dict[str, Any] = {
    "timezone": "UTC",
    "action_input": {},
    "queue": None,
    "max_attempts": 1,
    "backoff": DEFAULT_BACKOFF,
    "timeout": timedelta(minutes=5),
    "priority": 2,
    "state": "active",
    "tenants": None,
    "actor_persister": None,
    "default_actor": None,
}


def test_every_trigger_option_has_its_documented_default() -> None:
    options = TriggerOptions(action="ship")
    assert set(TriggerOptions.model_fields) == {"action", *TRIGGER_DEFAULTS}
    assert {name: getattr(options, name) for name in TRIGGER_DEFAULTS} == TRIGGER_DEFAULTS


def test_every_scheduled_action_option_has_its_documented_default() -> None:
    options = ScheduleOptions(cron="@daily", action="report")
    assert set(ScheduleOptions.model_fields) == {"cron", "action", *SCHEDULE_DEFAULTS}
    assert {name: getattr(options, name) for name in SCHEDULE_DEFAULTS} == SCHEDULE_DEFAULTS


def test_action_is_required_and_cron_too_for_schedules() -> None:
    with pytest.raises(ValidationError) as trigger_error:
        TriggerOptions()  # type: ignore[call-arg]
    assert [e["loc"] for e in trigger_error.value.errors()] == [("action",)]
    with pytest.raises(ValidationError) as schedule_error:
        ScheduleOptions()  # type: ignore[call-arg]
    assert [e["loc"] for e in schedule_error.value.errors()] == [("cron",), ("action",)]


def test_queue_defaults_follow_the_resource() -> None:
    domain = Domain("post")
    parcels = domain.resource(Parcel)
    parcels.action(ship)
    parcels.action(report)
    plain = parcels.trigger("plain", action=ship)
    fast = parcels.trigger("fast", action=ship, queue="fast")
    split = parcels.trigger("split", action=ship, queue="fast", scheduler_queue="scans")
    scheduled = parcels.schedule("daily", cron="@daily", action=report)
    routed = parcels.schedule("routed", cron="@daily", action=report, queue="mail")
    assert (plain.queue, plain.scheduler_queue) == ("parcels", "parcels")
    assert (fast.queue, fast.scheduler_queue) == ("fast", "fast")
    assert (split.queue, split.scheduler_queue) == ("fast", "scans")
    assert (scheduled.queue, routed.queue) == ("parcels", "mail")
    assert domain.queues == {"parcels", "fast", "scans", "mail"}


def test_actions_are_given_as_functions_or_names() -> None:
    by_function = TriggerOptions(action=ship, on_error=ship)
    assert (by_function.action, by_function.on_error) == ("ship", "ship")
    assert TriggerOptions(action="ship") == TriggerOptions(action=ship)
    assert ScheduleOptions(cron="@daily", action=report).action == "report"


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("carrier", ("carrier",)),
        (["-carrier", "id"], ("-carrier", "id")),
        (("id",), ("id",)),
        ([Parcel.carrier, "-id"], ("carrier", "-id")),
        (Parcel.carrier, ("carrier",)),
        ([Parcel.__table__.c.carrier], ("carrier",)),
    ],
    ids=["name", "names", "tuple", "attribute-in-list", "attribute", "table-column"],
)
def test_sort_accepts_names_and_mapped_columns(sort: Any, expected: tuple[str, ...]) -> None:
    assert TriggerOptions(action="ship", sort=sort).sort == expected


@pytest.mark.parametrize(
    "sort", [Parcel.carrier.desc(), [Parcel.carrier == "dhl"]], ids=["desc", "comparison"]
)
def test_sort_rejects_sql_expressions(sort: Any) -> None:
    with pytest.raises(ValidationError, match="column names such as"):
        TriggerOptions(action="ship", sort=sort)


def test_options_are_frozen_and_reject_unknown_names() -> None:
    options = TriggerOptions(action="ship")
    with pytest.raises(ValidationError, match="frozen"):
        options.max_attempts = 3  # type: ignore[misc]
    with pytest.raises(ValidationError, match="max_attempt"):
        TriggerOptions(action="ship", max_attempt=3)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="crons"):
        ScheduleOptions(cron="@daily", action="report", crons="@hourly")  # type: ignore[call-arg]


def test_backoff_defaults_are_15_seconds_doubling_up_to_an_hour() -> None:
    assert Backoff() == DEFAULT_BACKOFF
    assert Backoff().coefficient == 2.0


def test_backoff_accepts_a_fixed_timedelta_or_seconds() -> None:
    assert TriggerOptions(action="ship", backoff=timedelta(seconds=30)).backoff == timedelta(
        seconds=30
    )
    assert TriggerOptions(action="ship", backoff=30).backoff == timedelta(seconds=30)
    spaced = TriggerOptions(action="ship", backoff={"initial": 1, "maximum": 10})
    assert spaced.backoff == Backoff(
        initial=timedelta(seconds=1), coefficient=2.0, maximum=timedelta(seconds=10)
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("initial", timedelta(0), "greater than 0"),
        ("maximum", timedelta(seconds=-1), "greater than 0"),
        ("coefficient", 0.5, "greater than or equal to 1"),
        ("jitter", 0.1, "Extra inputs are not permitted"),
    ],
)
def test_backoff_rejects_bad_values(field: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as raised:
        Backoff.model_validate({field: value})
    assert [e["loc"] for e in raised.value.errors()] == [(field,)]


def test_backoff_is_frozen() -> None:
    backoff = Backoff()
    with pytest.raises(ValidationError, match="frozen"):
        backoff.coefficient = 3.0  # type: ignore[misc]
