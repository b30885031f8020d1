"""Domain.validate(): one test per rule, each asserting the whole located message."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import ForeignKey, Select, String, exists, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ember.registry import ActionContext, Backoff, Domain, Problem, RegistryError, Resource, ago


class Base(DeclarativeBase):
    """Declarative base of this module."""


class Ticket(Base):
    """The resource most rules are checked on."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    escalated: Mapped[bool]
    updated_at: Mapped[datetime]


class Pair(Base):
    """A composite primary key."""

    __tablename__ = "pairs"

    left: Mapped[int] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    right: Mapped[int] = mapped_column(primary_key=True)


class Day(Base):
    """A date primary key."""

    __tablename__ = "days"

    day: Mapped[date] = mapped_column(primary_key=True)


class Slug(Base):
    """A text primary key (supported)."""

    __tablename__ = "slugs"

    slug: Mapped[str] = mapped_column(String(64), primary_key=True)


class Token(Base):
    """A UUID primary key (supported)."""

    __tablename__ = "tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)


class EscalateInput(BaseModel):
    """Input of ``escalate``."""

    reason: str
    level: int = 1


class DigestInput(BaseModel):
    """Input of ``digest``."""

    recipients: list[str]


async def escalate(ticket: Ticket, ctx: ActionContext) -> None:
    """A record action with an input model."""


async def close(ticket: Ticket, ctx: ActionContext) -> None:
    """A record action."""


async def digest(ctx: ActionContext) -> None:
    """A generic action with an input model."""


KNOWN_ACTIONS = "close, digest, escalate"
TICKET_COLUMNS = "escalated, id, organisation, status, subject, updated_at"


def desk(**resource_options: Any) -> tuple[Domain, Resource]:
    """Domain ``desk`` with the resource ``tickets`` and its three actions."""
    domain = Domain("desk")
    tickets = domain.resource(Ticket, **resource_options)
    tickets.action(input=EscalateInput)(escalate)
    tickets.action(close)
    tickets.action(input=DigestInput)(digest)
    return domain, tickets


def problems(
    domain: Domain, queues: list[str] | None = None, *, require_all_queues: bool = True
) -> list[Problem]:
    """The problems validate() raises; fails the test if it raises none."""
    with pytest.raises(RegistryError) as raised:
        domain.validate(queues, require_all_queues=require_all_queues)
    return raised.value.problems


def only(domain: Domain, queues: list[str] | None = None) -> Problem:
    """The single problem validate() raises."""
    found = problems(domain, queues)
    assert len(found) == 1, found
    return found[0]


def test_a_valid_registry_passes() -> None:
    domain, tickets = desk(tenant_column="organisation", list_tenants=["acme"])
    tickets.trigger(
        "escalate_stale",
        action=escalate,
        where=(Ticket.status == "open") & (Ticket.updated_at < ago(hours=4)),
        scheduler_cron="*/5 * * * *",
        max_attempts=3,
        on_error=close,
        action_input={"reason": "stale"},
        sort=["-updated_at", "id"],
        queue="fast",
    )
    tickets.trigger("manual", action="close", scheduler_cron=None, where=Ticket.escalated)
    tickets.schedule("daily", cron="@daily", action=digest, action_input={"recipients": []})
    domain.resource(Slug)
    domain.resource(Token)
    assert domain.problems(queues=["fast", "tickets"]) == []
    domain.validate(queues=["fast", "tickets"])


def test_unknown_action() -> None:
    domain, tickets = desk()
    tickets.trigger("t", action="teleport")
    assert only(domain) == Problem(
        "desk.tickets.t.action",
        "a record action (record, ctx) or a generic action (ctx) of tickets",
        f"unknown action 'teleport' (known: {KNOWN_ACTIONS})",
        "declare it with @tickets.action or fix the name",
    )


def test_unknown_scheduled_action() -> None:
    domain, tickets = desk()
    tickets.schedule("s", cron="@daily", action="teleport")
    assert only(domain) == Problem(
        "desk.tickets.s.action",
        "a generic action (ctx) of tickets",
        f"unknown action 'teleport' (known: {KNOWN_ACTIONS})",
        "declare it with @tickets.action or fix the name",
    )


RECORD_FOR_GENERIC = (
    "give {name} the single parameter (ctx) "
    "(a function of (record, ctx) is a record action: run it with resource.trigger)"
)


def test_trigger_given_a_generic_action_is_valid_as_ashobans() -> None:
    domain, tickets = desk()
    tickets.trigger("t", action=digest, action_input={"recipients": ["a"]}, on_error=digest)
    tickets.trigger("bad_input", action=digest, action_input={"recipients": "a"})
    assert only(domain) == Problem(
        "desk.tickets.bad_input.action_input.recipients",
        "input accepted by DigestInput (Input should be a valid list)",
        "'a'",
        "change action_input to match DigestInput",
    )


def test_schedule_given_a_record_action() -> None:
    domain, tickets = desk()
    tickets.schedule("s", cron="@daily", action=close)
    assert only(domain) == Problem(
        "desk.tickets.s.action",
        "a generic action (ctx)",
        "'close' taking (ticket, ctx)",
        RECORD_FOR_GENERIC.format(name="close"),
    )


BAD_CRONS = ["every minute", "61 * * * *", "* * *", "", "@sometimes", "0 0 * * * 30"]


def bad_cron(path: str, cron: str) -> Problem:
    return Problem(
        path,
        "a cron expression such as '*/5 * * * *' or '@daily'",
        repr(cron),
        "use five fields: minute hour day-of-month month day-of-week",
    )


@pytest.mark.parametrize("cron", BAD_CRONS)
def test_invalid_trigger_scheduler_cron(cron: str) -> None:
    domain, tickets = desk()
    tickets.trigger("t", action=close, scheduler_cron=cron)
    assert only(domain) == bad_cron("desk.tickets.t.scheduler_cron", cron)


@pytest.mark.parametrize("cron", BAD_CRONS)
def test_invalid_schedule_cron(cron: str) -> None:
    domain, tickets = desk()
    tickets.schedule("s", cron=cron, action=digest, action_input={"recipients": []})
    assert only(domain) == bad_cron("desk.tickets.s.cron", cron)


@pytest.mark.parametrize("cron", ["@daily", "@hourly", "*/5 * * * *", "0 9 * * MON-FRI"])
def test_macros_and_five_field_crons_are_valid(cron: str) -> None:
    domain, tickets = desk()
    tickets.trigger("t", action=close, scheduler_cron=cron)
    tickets.schedule("s", cron=cron, action=digest, action_input={"recipients": []})
    assert domain.problems() == []


def test_action_input_rejected_by_the_trigger_actions_model() -> None:
    domain, tickets = desk()
    tickets.trigger("t", action=escalate, action_input={"reason": "stale", "level": "high"})
    assert only(domain) == Problem(
        "desk.tickets.t.action_input.level",
        "input accepted by EscalateInput "
        "(Input should be a valid integer, unable to parse string as an integer)",
        "'high'",
        "change action_input to match EscalateInput",
    )


def test_action_input_missing_a_required_field() -> None:
    domain, tickets = desk()
    tickets.trigger("t", action=escalate)
    assert only(domain) == Problem(
        "desk.tickets.t.action_input.reason",
        "input accepted by EscalateInput (Field required)",
        "{}",
        "change action_input to match EscalateInput",
    )


def test_action_input_rejected_by_the_scheduled_actions_model() -> None:
    domain, tickets = desk()
    tickets.schedule("s", cron="@daily", action=digest, action_input={"recipients": "all"})
    assert only(domain) == Problem(
        "desk.tickets.s.action_input.recipients",
        "input accepted by DigestInput (Input should be a valid list)",
        "'all'",
        "change action_input to match DigestInput",
    )


@pytest.mark.parametrize(
    ("first", "second"),
    [("trigger", "trigger"), ("trigger", "schedule"), ("schedule", "schedule")],
)
def test_duplicate_trigger_and_schedule_names(first: str, second: str) -> None:
    domain, tickets = desk()
    for kind in (first, second):
        if kind == "trigger":
            tickets.trigger("same", action=close)
        else:
            tickets.schedule("same", cron="@daily", action=digest, action_input={"recipients": []})
    assert only(domain) == Problem(
        "desk.tickets.same",
        "trigger and schedule names unique within a resource",
        "a second declaration named 'same'",
        "rename one of them",
    )


def test_duplicate_action_names() -> None:
    domain, tickets = desk()
    tickets.action(name="close")(escalate)
    assert only(domain) == Problem(
        "desk.tickets.actions.close",
        "unique action names",
        "a second action named 'close'",
        "rename one of them or pass name=",
    )


def test_duplicate_resource_names_and_name_resolves_them() -> None:
    domain, _ = desk()
    domain.resource(Ticket)
    assert only(domain) == Problem(
        "desk.tickets",
        "unique resource names",
        "a second resource named 'tickets'",
        "pass name= to one of them",
    )
    renamed, _ = desk()
    renamed.resource(Ticket, name="tickets_again")
    assert renamed.problems() == []


def test_on_error_naming_a_missing_action() -> None:
    domain, tickets = desk()
    tickets.trigger("t", action=close, on_error="gone")
    assert only(domain) == Problem(
        "desk.tickets.t.on_error",
        "a record action (record, ctx) or a generic action (ctx) of tickets",
        f"unknown action 'gone' (known: {KNOWN_ACTIONS})",
        "declare it with @tickets.action or fix the name",
    )


def no_strategy(path: str) -> Problem:
    return Problem(
        path,
        "tenants only on a resource with a tenant strategy",
        "tenants on a resource without tenant_column or tenant_schema",
        "pass tenant_column=... or tenant_schema=True to domain.resource(...)",
    )


def test_resource_list_tenants_without_a_tenant_strategy() -> None:
    domain, _ = desk(list_tenants=["acme"])
    assert only(domain) == no_strategy("desk.tickets.list_tenants")


def test_trigger_list_tenants_without_a_tenant_strategy() -> None:
    domain, tickets = desk()
    tickets.trigger("t", action=close, list_tenants=["acme"])
    assert only(domain) == no_strategy("desk.tickets.t.list_tenants")


def test_schedule_tenants_without_a_tenant_strategy() -> None:
    domain, tickets = desk()
    tickets.schedule(
        "s", cron="@daily", action=digest, action_input={"recipients": []}, tenants=["acme"]
    )
    assert only(domain) == no_strategy("desk.tickets.s.tenants")


def test_tenant_column_resource_with_no_list_tenants_runs_the_global_scope_as_ashobans_nil() -> (
    None
):
    domain, tickets = desk(tenant_column="organisation")
    tickets.trigger("t", action=close)
    tickets.trigger("own", action=close, use_tenant_from_record=False)
    tickets.schedule("s", cron="@daily", action=digest, action_input={"recipients": []})
    assert domain.problems() == []


def test_schema_tenants_have_no_global_scope_so_need_tenants() -> None:
    domain, tickets = desk(tenant_schema=True)
    tickets.trigger("t", action=close)
    tickets.trigger("given_here", action=close, list_tenants=lambda: ["acme"])
    tickets.schedule("s", cron="@daily", action=digest, action_input={"recipients": []})
    tickets.schedule(
        "given", cron="@daily", action=digest, action_input={"recipients": []}, tenants=["a"]
    )
    assert problems(domain) == [
        Problem(
            "desk.tickets.t.list_tenants",
            "the tenants to run for, on the trigger or its resource (schema tenants have no "
            "global scope)",
            "none on the trigger or its tenant_schema resource",
            "pass list_tenants=[...] or a callable to the trigger, or list_tenants= to the "
            "resource",
        ),
        Problem(
            "desk.tickets.s.tenants",
            "the tenants to run for, on the scheduled action or its resource (schema tenants "
            "have no global scope)",
            "none on the scheduled action or its tenant_schema resource",
            "pass tenants=[...] or a callable to the scheduled action, or list_tenants= to the "
            "resource",
        ),
    ]


@pytest.mark.parametrize(
    "strategy", [{}, {"tenant_schema": True, "list_tenants": ["a"]}], ids=["none", "schema"]
)
def test_use_tenant_from_record_needs_a_tenant_column(strategy: dict[str, Any]) -> None:
    domain, tickets = desk(**strategy)
    tickets.trigger("t", action=close, use_tenant_from_record=True)
    assert only(domain) == Problem(
        "desk.tickets.t.use_tenant_from_record",
        "use_tenant_from_record on a resource with a tenant_column",
        "it on tickets, whose records hold no tenant column",
        "remove use_tenant_from_record (schema tenants come from list_tenants)",
    )


def test_both_tenant_strategies() -> None:
    domain, _ = desk(tenant_column="organisation", tenant_schema=True, list_tenants=["a"])
    assert only(domain) == Problem(
        "desk.tickets.tenant_schema",
        "one tenant strategy",
        "both tenant_column and tenant_schema",
        "keep one of them",
    )


def test_tenant_column_that_is_not_a_column() -> None:
    domain, _ = desk(tenant_column="org", list_tenants=["a"])
    assert only(domain) == Problem(
        "desk.tickets.tenant_column",
        "a column of tickets",
        "'org'",
        f"use one of: {TICKET_COLUMNS}",
    )


def test_composite_primary_key() -> None:
    domain = Domain("desk")
    domain.resource(Pair)
    assert only(domain) == Problem(
        "desk.pairs.primary_key",
        "a single-column primary key",
        "a composite key (left, right)",
        "add a single surrogate key column (e.g. an identity id) and keep the pair unique",
    )


def test_primary_key_that_is_not_int_text_or_uuid() -> None:
    domain = Domain("desk")
    domain.resource(Day)
    assert only(domain) == Problem(
        "desk.days.primary_key",
        "an integer, text or UUID primary key",
        "DATE",
        "use an integer, text or UUID key",
    )


def test_int_text_and_uuid_primary_keys_are_supported() -> None:
    domain = Domain("desk")
    for model in (Ticket, Slug, Token):
        domain.resource(model)
    assert domain.problems() == []


class NotMapped:
    """A plain class, not a SQLAlchemy model."""


def test_a_resource_that_is_not_a_mapped_class() -> None:
    domain = Domain("desk")
    plain = domain.resource(NotMapped)
    plain.action(close)
    plain.trigger("t", action=close, sort=["id"])
    problem, *rest = problems(domain)
    assert problem == Problem(
        "desk.NotMapped",
        "a SQLAlchemy mapped class",
        repr(NotMapped),
        "pass a declarative model (a subclass of your DeclarativeBase) to domain.resource",
    )
    assert all(p.path.startswith("desk.NotMapped.t.") for p in rest)


@pytest.mark.parametrize(
    ("where", "found"),
    [
        (True, "bool True"),
        ("status = 'open'", "str \"status = 'open'\""),
        (Ticket.subject, "the SQL 'tickets.subject' of type VARCHAR(200)"),
        (Ticket.id + 1, "the SQL 'tickets.id + :id_1' of type INTEGER"),
        (text("status = 'open'"), "the SQL \"status = 'open'\""),
    ],
    ids=["python-bool", "string", "text-column", "integer-expression", "text-clause"],
)
def test_where_that_is_not_a_sql_boolean_expression(where: Any, found: str) -> None:
    domain, tickets = desk()
    tickets.trigger("t", action=close, where=where)
    assert only(domain) == Problem(
        "desk.tickets.t.where",
        "a SQLAlchemy boolean expression such as Ticket.status == 'open'",
        found,
        "build the condition from the model's columns with ==, <, &, |, and_() ...",
    )


@pytest.mark.parametrize(
    "where",
    [
        Ticket.escalated,
        ~Ticket.escalated,
        Ticket.escalated.is_(False),
        Ticket.status.in_(["open", "pending"]),
        (Ticket.status == "open") | (Ticket.updated_at < ago(days=1)),
    ],
    ids=["boolean-column", "not", "is", "in", "or"],
)
def test_sql_boolean_expressions_are_valid_where(where: Any) -> None:
    domain, tickets = desk()
    tickets.trigger("t", action=close, where=where)
    assert domain.problems() == []


def not_run(path: str, queue: str, running: str) -> Problem:
    return Problem(
        path,
        f"a queue the worker runs ({running})",
        repr(queue),
        f"add {queue}=<concurrency> to EMBER_QUEUES (--queues) or change the queue; "
        "or, when other workers run it, set EMBER_REQUIRE_ALL_QUEUES=false",
    )


def unused(queue: str, declared: str) -> Problem:
    return Problem(
        f"desk.queues.{queue}",
        f"a queue some declaration uses ({declared})",
        repr(queue),
        f"remove {queue} from EMBER_QUEUES (--queues) or fix its name",
    )


def test_queues_the_worker_is_not_configured_to_run() -> None:
    domain, tickets = desk()
    tickets.trigger("split", action=close, queue="fast", scheduler_queue="scans")
    tickets.trigger("default", action=close)
    tickets.schedule("s", cron="@daily", action=digest, action_input={"recipients": []})
    assert problems(domain, queues=["fast", "other"]) == [
        unused("other", "fast, scans, tickets"),
        not_run("desk.tickets.split.scheduler_queue", "scans", "fast, other"),
        not_run("desk.tickets.default.queue", "tickets", "fast, other"),
        not_run("desk.tickets.default.scheduler_queue", "tickets", "fast, other"),
        not_run("desk.tickets.s.queue", "tickets", "fast, other"),
    ]
    assert domain.problems() == []  # queues unknown: not checked
    assert domain.problems(queues=["fast", "scans", "tickets"]) == []


def test_require_all_queues_false_lets_a_worker_run_some_queues_as_ashobans_require() -> None:
    domain, tickets = desk()
    tickets.trigger("split", action=close, queue="fast", scheduler_queue="scans")
    tickets.schedule("s", cron="@daily", action=digest, action_input={"recipients": []})
    assert domain.problems(queues=["scans"], require_all_queues=False) == []
    domain.validate(queues=["fast"], require_all_queues=False)
    assert problems(domain, queues=["scans", "fsat"], require_all_queues=False) == [
        unused("fsat", "fast, scans, tickets")
    ], "a queue no declaration uses is an error either way"
    assert [p.path for p in domain.problems(queues=["scans"])] == [
        "desk.tickets.split.queue",
        "desk.tickets.s.queue",
    ]


def test_a_worker_that_runs_no_queues() -> None:
    domain, tickets = desk()
    tickets.trigger("t", action=close, queue="fast")
    assert problems(domain, queues=[]) == [
        not_run("desk.tickets.t.queue", "fast", "none"),
        not_run("desk.tickets.t.scheduler_queue", "fast", "none"),
    ]


def out_of_range(path: str, expected: str, value: int) -> Problem:
    option = path.rsplit(".", 1)[1]
    return Problem(path, expected, repr(value), f"change {option}")


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("worker_priority", 4, "less than or equal to 3"),
        ("worker_priority", -1, "greater than or equal to 0"),
        ("scheduler_priority", 4, "less than or equal to 3"),
        ("scheduler_priority", -1, "greater than or equal to 0"),
    ],
)
def test_trigger_priorities_outside_0_to_3(option: str, value: int, expected: str) -> None:
    domain, tickets = desk()
    tickets.trigger("t", action=close, **{option: value})
    assert only(domain) == out_of_range(f"desk.tickets.t.{option}", expected, value)


@pytest.mark.parametrize(("value", "expected"), [(4, "less than"), (-1, "greater than")])
def test_schedule_priority_outside_0_to_3(value: int, expected: str) -> None:
    domain, tickets = desk()
    tickets.schedule(
        "s", cron="@daily", action=digest, action_input={"recipients": []}, priority=value
    )
    bound = 3 if value > 3 else 0
    path = "desk.tickets.s.priority"
    assert only(domain) == out_of_range(path, f"{expected} or equal to {bound}", value)


@pytest.mark.parametrize(
    "option",
    ["stream_batch_size", "record_limit", "max_attempts", "chunk_size", "max_scheduler_attempts"],
)
@pytest.mark.parametrize("value", [0, -3])
def test_counts_below_one(option: str, value: int) -> None:
    domain, tickets = desk()
    tickets.trigger("t", action=close, **{option: value})
    path = f"desk.tickets.t.{option}"
    assert only(domain) == out_of_range(path, "greater than or equal to 1", value)


def test_schedule_max_attempts_below_one() -> None:
    domain, tickets = desk()
    tickets.schedule(
        "s", cron="@daily", action=digest, action_input={"recipients": []}, max_attempts=0
    )
    path = "desk.tickets.s.max_attempts"
    assert only(domain) == out_of_range(path, "greater than or equal to 1", 0)


def test_fixed_backoff_must_be_positive() -> None:
    domain, tickets = desk()
    tickets.trigger("t", action=close, backoff=timedelta(0))
    assert only(domain) == Problem(
        "desk.tickets.t.backoff",
        "greater than 0 seconds or a valid dictionary or instance of Backoff or callable",
        repr(timedelta(0)),
        "change backoff",
    )


def test_tags_extra_args_and_actor_persister_are_checked_where_declared() -> None:
    domain, tickets = desk()
    tickets.trigger("t", action=close, tags="urgent", extra_args=[("a", 1)])
    tickets.trigger("u", action=close, tags=["ok", ""], actor_persister="users")
    tickets.schedule("s", cron="@daily", action=digest, actor_persister=object)
    assert [(p.path, p.expected) for p in problems(domain)] == [
        ("desk.tickets.t.extra_args", "a valid dictionary or callable"),
        ("desk.tickets.t.tags", "a list of tags such as ['billing', 'urgent']"),
        ("desk.tickets.u.tags.1", "string should have at least 1 character"),
        ("desk.tickets.u.actor_persister", "an instance of ActorPersister"),
        ("desk.tickets.s.actor_persister", "an instance of ActorPersister"),
    ]


def test_backoff_and_timeout_functions_are_checked_for_every_attempt_they_pace() -> None:
    domain, tickets = desk()
    tickets.trigger(
        "t",
        action=close,
        max_attempts=3,
        backoff=lambda n: timedelta(seconds=10) if n < 2 else None,
        timeout=lambda n: timedelta(seconds=3 - n),
    )
    tickets.trigger("u", action=close, max_attempts=2, backoff=lambda n: 1 / (n - 2), timeout=len)
    tickets.schedule(
        "s",
        cron="@daily",
        action=digest,
        action_input={"recipients": []},
        max_attempts=2,
        backoff=lambda n: 1 / 0,
    )
    tickets.trigger("once", action=close, backoff=lambda n: 1 / 0)  # no attempt to pace
    found = [(p.path, p.found) for p in domain.problems()]
    assert found == [
        ("desk.tickets.t.backoff", "backoff(2) returning None"),
        ("desk.tickets.t.timeout", "timeout(3) returning 0:00:00"),
        ("desk.tickets.u.backoff", "backoff(1) returning -1.0"),
        (
            "desk.tickets.u.timeout",
            "timeout(1) raising TypeError: object of type 'int' has no len()",
        ),
        ("desk.tickets.s.backoff", "backoff(1) raising ZeroDivisionError: division by zero"),
    ]
    assert domain.problems()[0] == Problem(
        "desk.tickets.t.backoff",
        "a function returning a timedelta above 0 (the delay after attempt n)",
        "backoff(2) returning None",
        "make backoff return a positive timedelta for attempts 1 to 3",
    )


def test_backoff_maximum_below_initial() -> None:
    domain, tickets = desk()
    tickets.trigger("t", action=close, backoff=Backoff(initial=timedelta(hours=2)))
    tickets.schedule(
        "s",
        cron="@daily",
        action=digest,
        action_input={"recipients": []},
        backoff={"initial": timedelta(minutes=5), "maximum": timedelta(minutes=1)},
    )
    assert problems(domain) == [
        Problem(
            "desk.tickets.t.backoff",
            "a Backoff whose maximum is at least its initial interval",
            "initial=2:00:00, maximum=1:00:00",
            "raise maximum or lower initial (Temporal rejects the retry policy otherwise)",
        ),
        Problem(
            "desk.tickets.s.backoff",
            "a Backoff whose maximum is at least its initial interval",
            "initial=0:05:00, maximum=0:01:00",
            "raise maximum or lower initial (Temporal rejects the retry policy otherwise)",
        ),
    ]


def test_backoff_given_as_a_dict_is_checked_field_by_field() -> None:
    domain, tickets = desk()
    tickets.trigger("t", action=close, backoff={"initial": -1, "colour": "red"})
    assert problems(domain) == [
        Problem(
            "desk.tickets.t.backoff.initial",
            "greater than 0 seconds",
            repr(timedelta(seconds=-1)),
            "change backoff.initial",
        ),
        Problem(
            "desk.tickets.t.backoff.colour",
            "a known field",
            "unknown field",
            "remove 'colour' from backoff",
        ),
    ]


def test_a_key_that_is_not_printable_keeps_the_problem_on_one_line() -> None:
    domain, tickets = desk()
    tickets.trigger("t", action=close, backoff={"\n": 0})
    problem = only(domain)
    assert problem.path == "desk.tickets.t.backoff.'\\n'"
    with pytest.raises(RegistryError) as raised:
        domain.validate()
    assert len(str(raised.value).splitlines()) == 2


def test_tenants_of_the_wrong_type_are_one_problem_at_the_option() -> None:
    domain, tickets = desk(tenant_column="organisation")
    tickets.trigger("t", action=close, list_tenants=3)
    assert only(domain) == Problem(
        "desk.tickets.t.list_tenants",
        "an instance of Sequence or callable",
        "3",
        "change list_tenants",
    )


def test_misspelled_trigger_option_suggests_the_right_one() -> None:
    domain, tickets = desk()
    tickets.trigger("t", action=close, max_attempt=3)
    assert only(domain) == Problem(
        "desk.tickets.t.max_attempt",
        "a known option",
        "unknown option",
        "did you mean 'max_attempts'?",
    )


def test_misspelled_schedule_option_suggests_the_right_one() -> None:
    domain, tickets = desk()
    tickets.schedule("s", cronn="@daily", action=digest, action_input={"recipients": []})
    missing, problem = problems(domain)
    assert problem == Problem(
        "desk.tickets.s.cronn", "a known option", "unknown option", "did you mean 'cron'?"
    )
    assert missing == Problem("desk.tickets.s.cron", "a value", "nothing", "pass cron=...")


def test_unknown_option_with_no_close_match_lists_the_options() -> None:
    domain, tickets = desk()
    tickets.schedule("s", cron="@daily", action=digest, colour="red")
    problem = only(domain)
    assert (problem.path, problem.expected, problem.found) == (
        "desk.tickets.s.colour",
        "a known option",
        "unknown option",
    )
    assert problem.fix == (
        "use one of: action, action_input, actor_persister, backoff, cron, default_actor, "
        "max_attempts, priority, queue, state, tenants, timeout, timezone"
    )


def test_missing_action_option() -> None:
    domain, tickets = desk()
    tickets.trigger("t", where=Ticket.escalated)
    assert only(domain) == Problem("desk.tickets.t.action", "a value", "nothing", "pass action=...")


def test_wrongly_typed_option() -> None:
    domain, tickets = desk()
    tickets.trigger("t", action=close, state="stopped")
    assert only(domain) == Problem(
        "desk.tickets.t.state", "'active', 'paused' or 'deleted'", "'stopped'", "change state"
    )


def test_unknown_sort_column() -> None:
    domain, tickets = desk()
    tickets.trigger("t", action=close, sort=["-updated_at", "colour", Ticket.subject])
    assert only(domain) == Problem(
        "desk.tickets.t.sort",
        "column names of tickets (prefix '-' for descending)",
        "'colour'",
        f"use one of: {TICKET_COLUMNS}",
    )


def test_sort_given_a_sql_expression() -> None:
    domain, tickets = desk()
    tickets.trigger("t", action=close, sort=[Ticket.updated_at.desc()])
    problem = only(domain)
    assert (problem.path, problem.expected, problem.fix) == (
        "desk.tickets.t.sort",
        "column names such as ['-created_at'], not a SQL expression",
        "change sort",
    )


LINE = re.compile(r"^  - (desk\.tickets\.[\w.]+): expected (.+), found (.+); fix: (.+)$")


def test_every_problem_of_several_broken_triggers_in_one_error() -> None:
    domain, tickets = desk()
    tickets.trigger("unknown_action", action="nope")
    tickets.trigger("bad_cron", action=close, scheduler_cron="never")
    tickets.trigger("typo_and_range", action=close, max_atempts=2, worker_priority=9)
    tickets.trigger("bad_where", action=close, where="status = 'open'", on_error=no_parameters)
    tickets.schedule("bad_schedule", cron="@daily", action=close)
    tickets.trigger("fine", action=close)
    with pytest.raises(RegistryError) as raised:
        domain.validate(queues=["tickets"])
    error = raised.value
    assert [p.path for p in error.problems] == [
        "desk.tickets.unknown_action.action",
        "desk.tickets.bad_cron.scheduler_cron",
        "desk.tickets.typo_and_range.worker_priority",
        "desk.tickets.typo_and_range.max_atempts",
        "desk.tickets.bad_where.on_error",
        "desk.tickets.bad_where.where",
        "desk.tickets.bad_schedule.action",
    ]
    header, *lines = str(error).splitlines()
    assert header == "7 problems in the Ember registry:"
    assert lines == [f"  - {problem}" for problem in error.problems]
    for line, problem in zip(lines, error.problems, strict=True):
        match = LINE.match(line)
        assert match is not None, line
        assert match.groups() == (problem.path, problem.expected, problem.found, problem.fix)


def test_one_problem_is_reported_in_the_singular() -> None:
    domain, tickets = desk()
    tickets.trigger("t", action="nope")
    with pytest.raises(RegistryError, match=r"^1 problem in the Ember registry:\n  - desk\."):
        domain.validate()


def test_local_activity_with_chunk_size() -> None:
    domain, tickets = desk()
    tickets.trigger("t", action=close, local_activity=True, chunk_size=50)
    assert only(domain) == Problem(
        "desk.tickets.t.local_activity",
        "local_activity on a trigger with one workflow per record",
        "local_activity=True with chunk_size=50",
        "remove local_activity (a chunk's activity heartbeats, a local one cannot) or chunk_size",
    )


class Organisation(Base):
    """A table a trigger's where may reach only through a join."""

    __tablename__ = "organisations"

    slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    active: Mapped[bool]


def joined_organisations() -> Select[Any]:
    return select(Ticket).join(Organisation, Organisation.slug == Ticket.organisation)


def unjoined(path: str, reader: str) -> Problem:
    return Problem(
        path,
        f"conditions on tickets's columns, or on tables {reader} joins",
        f"a condition on 'organisations', which {reader} does not join (each row would pair "
        "with every row of organisations, and count once per pair)",
        "join organisations in read_action (and worker_read_action), or test it in a "
        "correlated exists() / .has() / .any()",
    )


def test_where_on_another_table_without_a_join() -> None:
    domain, tickets = desk()
    tickets.trigger("t", action=close, where=Organisation.active & (Ticket.status == "open"))
    assert only(domain) == unjoined("desk.tickets.t.where", "the default select(Ticket)")


def test_where_on_another_table_that_read_action_does_not_join() -> None:
    domain, tickets = desk()
    tickets.trigger(
        "t", action=close, where=Organisation.active, read_action=lambda: select(Ticket)
    )
    assert only(domain) == unjoined("desk.tickets.t.where", "read_action")


def test_where_on_a_table_read_action_joins_but_worker_read_action_does_not() -> None:
    domain, tickets = desk()
    tickets.trigger(
        "t",
        action=close,
        where=Organisation.active,
        read_action=joined_organisations,
        worker_read_action=lambda: select(Ticket),
    )
    assert only(domain) == unjoined("desk.tickets.t.where", "worker_read_action")


@pytest.mark.parametrize(
    "options",
    [
        {"where": Organisation.active, "read_action": joined_organisations},
        {
            "where": Organisation.active,
            "read_action": joined_organisations,
            "worker_read_action": joined_organisations,
        },
        {"where": exists().where((Organisation.slug == Ticket.organisation) & Organisation.active)},
        {"where": Ticket.organisation.in_(select(Organisation.slug).where(Organisation.active))},
    ],
    ids=["read-action-joins", "both-join", "correlated-exists", "in-subquery"],
)
def test_where_reaching_other_tables_through_a_join_or_a_subquery_is_valid(
    options: dict[str, Any],
) -> None:
    domain, tickets = desk()
    tickets.trigger("t", action=close, **options)
    assert domain.problems() == []


def test_read_action_that_does_not_return_a_select_is_located() -> None:
    domain, tickets = desk()

    def broken() -> Any:
        raise RuntimeError("no database at import")

    tickets.trigger("t", action=close, where=Organisation.active, read_action=broken)
    assert only(domain) == Problem(
        "desk.tickets.t.read_action",
        "a callable returning a SQLAlchemy Select such as select(Ticket).join(...)",
        "it raising RuntimeError: no database at import",
        "make read_action return the Select the trigger reads",
    )


async def one_parameter(ticket: Ticket) -> None:
    """Meant as a record action; ctx forgotten."""


async def three_parameters(ticket: Ticket, ctx: ActionContext, extra: int) -> None:
    """One parameter too many."""


async def keyword_only(ticket: Ticket, ctx: ActionContext, *, flag: bool) -> None:
    """A required keyword-only parameter Ember never passes."""


async def no_parameters() -> None:
    """Takes nothing."""


async def defaulted(ticket: Ticket, ctx: ActionContext, extra: int = 0, *rest: Any) -> None:
    """Extra parameters with defaults: callable as (record, ctx)."""


@pytest.mark.parametrize(
    ("action", "found"),
    [
        (three_parameters, "(ticket, ctx, extra)"),
        (keyword_only, "(ticket, ctx, *, flag)"),
        (no_parameters, "()"),
    ],
    ids=["three", "keyword-only", "none"],
)
def test_trigger_action_that_cannot_be_called_as_record_ctx_nor_ctx(
    action: Any, found: str
) -> None:
    domain, tickets = desk()
    tickets.action(action)
    tickets.trigger("t", action=action)
    tickets.action(one_parameter)  # one parameter: a generic action, given ctx
    tickets.trigger("one", action=one_parameter)
    name = action.__name__
    assert only(domain) == Problem(
        "desk.tickets.t.action",
        "a record action (record, ctx) or a generic action (ctx)",
        f"{name!r} taking {found}",
        f"give {name} the parameters (record, ctx), or (ctx) to be given the record's key "
        "as ctx.record_key",
    )


def test_scheduled_action_that_cannot_be_called_as_ctx() -> None:
    domain, tickets = desk()
    tickets.action(no_parameters)
    tickets.action(three_parameters)
    tickets.schedule("none", cron="@daily", action=no_parameters)
    tickets.schedule("three", cron="@daily", action=three_parameters)
    assert problems(domain) == [
        Problem(
            "desk.tickets.none.action",
            "a generic action (ctx)",
            "'no_parameters' taking ()",
            "give no_parameters the single parameter (ctx)",
        ),
        Problem(
            "desk.tickets.three.action",
            "a generic action (ctx)",
            "'three_parameters' taking (ticket, ctx, extra)",
            "give three_parameters the single parameter (ctx)",
        ),
    ]


def test_extra_parameters_with_defaults_are_valid() -> None:
    domain, tickets = desk()
    tickets.action(defaulted)
    tickets.trigger("t", action=defaulted)
    assert domain.problems() == []


def bad_name(path: str, kind: str, name: str, fix: str) -> Problem:
    return Problem(path, f"a {kind} name of letters, digits, '_' or '-'", repr(name), fix)


def test_trigger_and_schedule_names_outside_letters_digits_underscore_and_dash() -> None:
    domain, tickets = desk()
    tickets.trigger("it's", action=close)
    tickets.trigger("", action=close)
    tickets.schedule("every day", cron="@daily", action=digest, action_input={"recipients": []})
    tickets.trigger("ok-2_B", action=close)
    assert problems(domain) == [
        bad_name("desk.tickets.it's", "trigger", "it's", "rename the trigger, e.g. 'it_s'"),
        bad_name("desk.tickets.", "trigger", "", "rename the trigger"),
        bad_name(
            "desk.tickets.every day",
            "scheduled action",
            "every day",
            "rename the scheduled action, e.g. 'every_day'",
        ),
    ]


def test_a_bad_name_is_reported_with_the_declarations_other_problems() -> None:
    domain, tickets = desk()
    tickets.trigger("it's", action=close, max_attempts=0)
    assert [p.path for p in problems(domain)] == [
        "desk.tickets.it's",
        "desk.tickets.it's.max_attempts",
    ]


@pytest.mark.parametrize(
    ("name", "hint"), [("it's", ", e.g. 'it_s'"), ("tickets/2", ", e.g. 'tickets_2'")]
)
def test_resource_names_outside_letters_digits_underscore_and_dash(name: str, hint: str) -> None:
    domain = Domain("desk")
    domain.resource(Ticket, name=name)
    assert only(domain) == bad_name(
        f"desk.{name}",
        "resource",
        name,
        f"pass name= to domain.resource (the name defaults to the table name){hint}",
    )


def test_an_unknown_time_zone_is_a_located_problem() -> None:
    domain, tickets = desk()
    tickets.trigger("t", action=escalate, timezone="Europe/Pariss")
    tickets.schedule("s", cron="@daily", action=digest, timezone="Mars/Olympus")
    tickets.trigger("ok", action=close, timezone="Europe/Paris")
    found = {(p.path, p.expected, p.found) for p in problems(domain)}
    expected = "an IANA time zone name such as 'Europe/Paris' or 'UTC'"
    assert found == {
        ("desk.tickets.t.timezone", expected, "'Europe/Pariss'"),
        ("desk.tickets.s.timezone", expected, "'Mars/Olympus'"),
    }
