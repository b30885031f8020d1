"""Any trigger or schedule declaration validates, or raises a RegistryError located on it.

Hypothesis draws every option of TriggerOptions / ScheduleOptions with valid and invalid
values, wrong types and unknown option names. Declaring and validating must either pass
or raise one RegistryError whose every problem lies under ``<domain>.<resource>.<name>``;
no other exception, ever.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from sqlalchemy import String, and_, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ember.registry import (
    ActionContext,
    Backoff,
    Domain,
    RegistryError,
    RowActorPersister,
    ScheduledAction,
    ScheduleOptions,
    Trigger,
    TriggerOptions,
    ago,
)


class Base(DeclarativeBase):
    """Declarative base of this module."""


class Ticket(Base):
    """The resource every declaration is made on."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    escalated: Mapped[bool]
    updated_at: Mapped[datetime]


class EscalateInput(BaseModel):
    """Input of ``escalate``."""

    reason: str = "stale"


async def escalate(ticket: Ticket, ctx: ActionContext) -> None:
    """A record action with an input model."""


async def close(ticket: Ticket, ctx: ActionContext) -> None:
    """A record action."""


async def digest(ctx: ActionContext) -> None:
    """A generic action."""


def not_registered(ctx: ActionContext) -> None:
    """A function never registered as an action."""


PREFIX = "prop.tickets.t"
SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Values of the wrong type for any option.
GARBAGE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.binary(max_size=4),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
    st.just(object()),
    st.just(Ticket.status),
    st.just(Ticket.status == "open"),
)
TIMEDELTAS = st.timedeltas(min_value=timedelta(hours=-2), max_value=timedelta(days=2))
ACTIONS = st.sampled_from(
    ["escalate", "close", "digest", "missing", "", escalate, close, digest, not_registered]
)
CRONS = st.one_of(
    st.sampled_from(
        ["* * * * *", "*/5 * * * *", "@daily", "@hourly", "0 9 * * MON-FRI", "bad", "61 * * * *"]
    ),
    st.sampled_from(["0 0 * * * 30", "* * *", "@every 5m", "@", "", "L L L L L"]),
    st.text(alphabet="0123456789*/,-@LW#? \tabcdy", max_size=20),
)
QUEUES = st.sampled_from([None, "tickets", "fast", "scans", "", "not run"])
COUNTS = st.one_of(st.none(), st.integers(min_value=-3, max_value=1000))
PRIORITIES = st.integers(min_value=-2, max_value=5)
FLAGS = st.one_of(st.booleans(), st.sampled_from(["yes", "no", 0, 1, 2]))
BACKOFFS = st.one_of(
    TIMEDELTAS,
    st.builds(
        Backoff,
        initial=st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(hours=3)),
        coefficient=st.floats(min_value=1, max_value=5),
        maximum=st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(hours=3)),
    ),
    st.fixed_dictionaries(
        {},
        optional={
            "initial": st.one_of(TIMEDELTAS, st.integers(-5, 100)),
            "coefficient": st.floats(min_value=-1, max_value=5),
            "maximum": st.one_of(TIMEDELTAS, st.integers(-5, 100)),
            "jitter": st.floats(0, 1),
        },
    ),
)
CALLABLES = st.sampled_from([None, lambda *args: None, "not callable", 3])
# Functions of the attempt: fitting, returning a bad value, raising.
DURATIONS = st.sampled_from(
    [
        lambda n: timedelta(seconds=n),
        lambda n: timedelta(seconds=-n),
        lambda n: 1 / 0,
        str,  # not a timedelta
    ]
)
EXTRAS = st.one_of(
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
    CALLABLES,
)
TAGS = st.one_of(
    st.lists(st.text(max_size=5), max_size=3),
    st.sampled_from(["urgent", [1], ["x" * 101], ("a", "b")]),
)
PERSISTERS = st.sampled_from([None, RowActorPersister(), "persister", 3])
ACTORS = st.sampled_from([None, "system", 3, object()])
TENANTS = st.one_of(
    st.none(),
    st.lists(st.text(max_size=5), max_size=3),
    st.just(lambda: ["acme"]),
    st.sampled_from(["acme", 3, [1, 2]]),
)
STATES = st.sampled_from(["active", "paused", "deleted", "stopped", None, 1])
INPUTS = st.one_of(
    st.fixed_dictionaries({}, optional={"reason": st.one_of(st.text(max_size=5), st.integers())}),
    st.dictionaries(st.sampled_from(["reason", "extra", 1]), st.integers(), max_size=2),
    st.sampled_from([[1], "reason", None]),
)
WHERES = st.sampled_from(
    [
        None,
        Ticket.status == "open",
        Ticket.escalated,
        ~Ticket.escalated,
        and_(Ticket.status == "open", Ticket.updated_at < ago(hours=4)),
        Ticket.status,
        Ticket.id + 1,
        text("status = 'open'"),
        True,
        "status = 'open'",
        0,
    ]
)
SORTS = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "id",
            "-updated_at",
            "colour",
            ["-status", "id"],
            ("id",),
            [Ticket.status, "-id"],
            Ticket.status,
            Ticket.status.desc(),
            [Ticket.status == "x"],
            [1],
            {"id": 1},
        ]
    ),
    st.lists(st.sampled_from(["id", "-id", "status", "nope", "-", ""]), max_size=3),
)

TIME_ZONES = st.one_of(
    st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Mars/Olympus", "", "../etc"]),
    st.text(max_size=20),
)

TRIGGER_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "action": ACTIONS,
    "where": WHERES,
    "scheduler_cron": st.one_of(st.none(), CRONS),
    "timezone": st.one_of(TIME_ZONES, GARBAGE),
    "queue": QUEUES,
    "scheduler_queue": QUEUES,
    "max_attempts": COUNTS,
    "max_scheduler_attempts": COUNTS,
    "backoff": st.one_of(BACKOFFS, DURATIONS),
    "timeout": st.one_of(TIMEDELTAS, st.integers(-5, 10**12), DURATIONS),
    "on_error": st.one_of(st.none(), ACTIONS),
    "on_error_fails_job": FLAGS,
    "lock_for_update": FLAGS,
    "trigger_once": FLAGS,
    "read_action": CALLABLES,
    "worker_read_action": CALLABLES,
    "sort": SORTS,
    "record_limit": COUNTS,
    "stream_batch_size": COUNTS,
    "read_metadata": CALLABLES,
    "action_input": INPUTS,
    "extra_args": EXTRAS,
    "tags": TAGS,
    "list_tenants": TENANTS,
    "use_tenant_from_record": FLAGS,
    "state": STATES,
    "worker_priority": PRIORITIES,
    "scheduler_priority": PRIORITIES,
    "debug": FLAGS,
    "log_errors": FLAGS,
    "log_final_error": FLAGS,
    "chunk_size": COUNTS,
    "local_activity": FLAGS,
    "actor_persister": PERSISTERS,
    "default_actor": ACTORS,
}
SCHEDULE_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "cron": CRONS,
    "timezone": st.one_of(TIME_ZONES, GARBAGE),
    "action": ACTIONS,
    "action_input": INPUTS,
    "queue": QUEUES,
    "max_attempts": COUNTS,
    "backoff": st.one_of(BACKOFFS, DURATIONS),
    "timeout": st.one_of(TIMEDELTAS, st.integers(-5, 10**12), DURATIONS),
    "priority": PRIORITIES,
    "state": STATES,
    "tenants": TENANTS,
    "actor_persister": PERSISTERS,
    "default_actor": ACTORS,
}
UNKNOWN_NAMES = st.sampled_from(["max_attempt", "colour", "schedule_cron", "crons", "action_"])

# Only values the option accepts, so that a good share of declarations validate.
GOOD_CRONS = st.sampled_from(["* * * * *", "*/5 * * * *", "@daily", "0 9 * * MON-FRI"])
GOOD_QUEUES = st.sampled_from([None, "tickets", "fast"])
GOOD_BACKOFFS = st.one_of(
    st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(hours=1)),
    st.builds(Backoff, initial=st.sampled_from([timedelta(seconds=5)]), coefficient=st.just(1.5)),
    st.just(lambda n: timedelta(seconds=10 * n)),
)
POSITIVE = st.integers(min_value=1, max_value=1000)
GOOD_TRIGGER_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "action": st.sampled_from(["escalate", close]),
    "where": st.sampled_from([None, Ticket.status == "open", Ticket.escalated]),
    "scheduler_cron": st.one_of(st.none(), GOOD_CRONS),
    "timezone": st.sampled_from(["UTC", "Europe/Paris"]),
    "queue": GOOD_QUEUES,
    "scheduler_queue": GOOD_QUEUES,
    "max_attempts": POSITIVE,
    "backoff": GOOD_BACKOFFS,
    "on_error": st.sampled_from([None, "close", escalate]),
    "sort": st.sampled_from([None, "id", ["-updated_at", "id"], [Ticket.status]]),
    "record_limit": st.one_of(st.none(), POSITIVE),
    "stream_batch_size": POSITIVE,
    "action_input": st.sampled_from([{}, {"reason": "urgent"}]),
    "extra_args": st.sampled_from([{}, {"channel": "email"}, lambda ticket: {"id": ticket.id}]),
    "tags": st.sampled_from([(), ["urgent"], ["urgent", "billing"]]),
    "actor_persister": st.sampled_from([None, RowActorPersister()]),
    "list_tenants": st.sampled_from([None, ["acme"]]),
    "state": st.sampled_from(["active", "paused", "deleted"]),
    "worker_priority": st.integers(0, 3),
    "chunk_size": st.one_of(st.none(), POSITIVE),
    "trigger_once": st.booleans(),
}
GOOD_SCHEDULE_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "cron": GOOD_CRONS,
    "timezone": st.sampled_from(["UTC", "Asia/Tokyo"]),
    "action": st.sampled_from(["digest", digest]),
    "queue": GOOD_QUEUES,
    "max_attempts": POSITIVE,
    "backoff": GOOD_BACKOFFS,
    "priority": st.integers(0, 3),
    "state": st.sampled_from(["active", "paused", "deleted"]),
    "tenants": st.sampled_from([None, ["acme"]]),
}


def test_the_strategies_cover_every_option() -> None:
    assert set(TRIGGER_VALUES) == set(TriggerOptions.model_fields)
    assert set(SCHEDULE_VALUES) == set(ScheduleOptions.model_fields)


def options_of(
    values: dict[str, st.SearchStrategy[Any]],
    good: dict[str, st.SearchStrategy[Any]],
    required: tuple[str, ...],
) -> st.SearchStrategy[dict[str, Any]]:
    """Either well-formed options, or any subset of the options, each a fitting or a
    garbage value, plus unknown option names."""
    well_formed = st.fixed_dictionaries(
        {name: good[name] for name in required},
        optional={name: s for name, s in good.items() if name not in required},
    )
    known = st.fixed_dictionaries(
        {}, optional={name: st.one_of(strategy, GARBAGE) for name, strategy in values.items()}
    )
    unknown = st.dictionaries(UNKNOWN_NAMES, GARBAGE, max_size=2)
    return st.one_of(well_formed, st.builds(lambda a, b: {**a, **b}, known, unknown))


RESOURCES = st.sampled_from(
    [
        {},
        {"tenant_column": "organisation", "list_tenants": ["acme"]},
        {"tenant_column": "organisation"},
        {"tenant_schema": True, "list_tenants": lambda: ["acme"]},
    ]
)
WORKER_QUEUES = st.one_of(
    st.none(), st.just(["tickets", "fast"]), st.lists(st.sampled_from(["tickets", "fast", "scans"]))
)


def declare(kind: str, options: dict[str, Any], resource_options: dict[str, Any]) -> Domain:
    domain = Domain("prop")
    tickets = domain.resource(Ticket, **resource_options)
    tickets.action(input=EscalateInput)(escalate)
    tickets.action(close)
    tickets.action(digest)
    if kind == "trigger":
        tickets.trigger("t", **options)
    else:
        tickets.schedule("t", **options)
    return domain


def assert_validates_or_reports_located_problems(domain: Domain, queues: list[str] | None) -> None:
    try:
        domain.validate(queues)
    except RegistryError as error:
        event("invalid")
        assert error.problems, "a RegistryError with no problem"
        for problem in error.problems:
            located = problem.path == PREFIX or problem.path.startswith(f"{PREFIX}.")
            assert located or problem.path.startswith("prop.queues."), problem
            assert problem.expected and problem.found and problem.fix, problem
        assert str(error).count("\n") == len(error.problems)
        assert domain.problems(queues) == error.problems  # the same problems every time
    else:
        event("valid")
        assert domain.problems(queues) == []


@SETTINGS
@given(
    options=options_of(TRIGGER_VALUES, GOOD_TRIGGER_VALUES, ("action",)),
    resource_options=RESOURCES,
    queues=WORKER_QUEUES,
)
def test_any_trigger_validates_or_reports_problems_located_on_it(
    options: dict[str, Any], resource_options: dict[str, Any], queues: list[str] | None
) -> None:
    domain = declare("trigger", options, resource_options)
    assert_validates_or_reports_located_problems(domain, queues)
    (trigger,) = domain.triggers
    if not domain.problems(queues):  # a valid trigger is usable as declared
        assert isinstance(trigger, Trigger)
        assert trigger.action.takes_record
        assert trigger.queue and trigger.scheduler_queue
        assert trigger.workflow_id(None, "1").startswith(trigger.schedule_id + "/")


@SETTINGS
@given(
    options=options_of(SCHEDULE_VALUES, GOOD_SCHEDULE_VALUES, ("cron", "action")),
    resource_options=RESOURCES,
    queues=WORKER_QUEUES,
)
def test_any_schedule_validates_or_reports_problems_located_on_it(
    options: dict[str, Any], resource_options: dict[str, Any], queues: list[str] | None
) -> None:
    domain = declare("schedule", options, resource_options)
    assert_validates_or_reports_located_problems(domain, queues)
    (scheduled,) = domain.schedules
    if not domain.problems(queues):
        assert isinstance(scheduled, ScheduledAction)
        assert not scheduled.action.takes_record
        assert scheduled.queue
