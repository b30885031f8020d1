"""Whole-registry validation: every problem found, each located and with a fix."""

from __future__ import annotations

import difflib
import uuid
from collections.abc import Iterable, Iterator
from datetime import timedelta
from types import UnionType
from typing import TYPE_CHECKING, Any, Union, get_origin

from croniter import croniter
from pydantic import BaseModel, ValidationError
from sqlalchemy import inspect
from sqlalchemy.orm import Mapper

from registry.actions import Action, accepts, parameters_text
from registry.bulkcheck import bulk_problems, bulk_signature_problem
from registry.errors import Problem
from registry.names import name_problem
from registry.options import Backoff
from registry.wherecheck import where_problems

if TYPE_CHECKING:
    from registry.declarations import ScheduledAction, Trigger
    from registry.domain import Domain
    from registry.resource import Resource

SUPPORTED_KEY_TYPES = (int, str, uuid.UUID)


def option_problems(path: str, error: ValidationError, model: type[BaseModel]) -> list[Problem]:
    """Turn a pydantic error on declared options into located problems.

    A value no member of a union option accepts (``backoff``, ``list_tenants``)
    is one problem at the option, listing what each member expected.
    """
    problems: dict[str, Problem] = {}
    known = sorted(model.model_fields)
    for item in error.errors():
        loc = _option_loc(model, item["loc"])
        option = _dotted(loc) or "options"
        found = repr(item.get("input"))
        if item["type"] == "extra_forbidden" and len(loc) > 1:  # inside Backoff(...)
            hint = f"remove {loc[-1]!r} from {loc[0]}"
            problem = Problem(f"{path}.{option}", "a known field", "unknown field", hint)
        elif item["type"] == "extra_forbidden":
            close = difflib.get_close_matches(option, known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"use one of: {', '.join(known)}"
            problem = Problem(f"{path}.{option}", "a known option", "unknown option", hint)
        elif item["type"] == "missing":
            problem = Problem(f"{path}.{option}", "a value", "nothing", f"pass {option}=...")
        else:
            message = item["msg"][:1].lower() + item["msg"][1:]
            expected = message.removeprefix("input should be ").removeprefix("value error, ")
            earlier = problems.get(f"{path}.{option}")
            if earlier is not None:
                expected = f"{earlier.expected} or {expected}"
            problem = Problem(f"{path}.{option}", expected, found, f"change {option}")
        problems[problem.path] = problem
    # A value that got inside one union member (backoff={"initial": -1}) is located there;
    # the other members' "not my type" errors at the option itself are noise.
    return [
        problem
        for problem in problems.values()
        if not any(other.startswith(f"{problem.path}.") for other in problems)
    ]


def _option_loc(model: type[BaseModel], loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """``loc`` without the member labels pydantic inserts after a union option's name."""
    field = model.model_fields.get(str(loc[0])) if loc else None
    union = field is not None and get_origin(field.annotation) in (Union, UnionType)
    if union and len(loc) > 1 and isinstance(loc[1], str):
        return (loc[0], *loc[2:])
    return loc


def _dotted(loc: tuple[int | str, ...]) -> str:
    """A pydantic location as a path; a key that is not printable (``"\\n"``) as its repr."""
    return ".".join(str(p) if str(p).isprintable() else repr(p) for p in loc)


def is_valid_cron(expression: str) -> bool:
    """Whether ``expression`` is a five-field cron line or a macro such as ``@daily``.

    croniter also takes a sixth field (seconds) that Temporal reads as the year,
    so only five fields are accepted.
    """
    if not expression.startswith("@") and len(expression.split()) != 5:
        return False
    return bool(croniter.is_valid(expression))


def validate_domain(domain: Domain, queues: Iterable[str] | None = None) -> list[Problem]:
    """Every problem in ``domain``; ``queues`` are the queues a worker runs, if known."""
    running = None if queues is None else set(queues)
    problems: list[Problem] = list(domain.duplicate_problems)
    for resource in domain.resources.values():
        problems += _resource_problems(resource)
        for trigger in resource.triggers.values():
            problems += _declaration_name(trigger, "trigger")
            problems += trigger.declaration_problems or list(_trigger_problems(trigger, running))
        for scheduled in resource.schedules.values():
            problems += _declaration_name(scheduled, "scheduled action")
            problems += scheduled.declaration_problems or list(
                _schedule_problems(scheduled, running)
            )
    return problems


def _declaration_name(declaration: Trigger | ScheduledAction, kind: str) -> list[Problem]:
    """A name that cannot go into Temporal ids and queries as it is."""
    problem = name_problem(declaration.path, kind, declaration.name, f"rename the {kind}")
    return [] if problem is None else [problem]


def _resource_problems(resource: Resource) -> Iterator[Problem]:
    yield from resource.duplicate_problems
    path = resource.path
    fix = "pass name= to domain.resource (the name defaults to the table name)"
    problem = name_problem(path, "resource", resource.name, fix)
    if problem is not None:
        yield problem
    if not _is_mapped(resource):
        yield Problem(
            path,
            "a SQLAlchemy mapped class",
            repr(resource.model),
            "pass a declarative model (a subclass of your DeclarativeBase) to domain.resource",
        )
        return
    keys = resource.primary_key_columns
    if len(keys) != 1:
        names = ", ".join(column.name for column in keys)
        yield Problem(
            f"{path}.primary_key",
            "a single-column primary key",
            f"a composite key ({names})",
            "add a single surrogate key column (e.g. an identity id) and keep the pair unique",
        )
    elif _python_type(keys[0]) not in SUPPORTED_KEY_TYPES:
        yield Problem(
            f"{path}.primary_key",
            "an integer, text or UUID primary key",
            f"{keys[0].type}",
            "use an integer, text or UUID key",
        )
    if resource.tenant_column is not None and resource.tenant_schema:
        yield Problem(
            f"{path}.tenant_schema",
            "one tenant strategy",
            "both tenant_column and tenant_schema",
            "keep one of them",
        )
    if resource.tenant_column is not None and resource.tenant_column not in _columns(resource):
        yield Problem(
            f"{path}.tenant_column",
            f"a column of {resource.name}",
            repr(resource.tenant_column),
            f"use one of: {', '.join(sorted(_columns(resource)))}",
        )
    if resource.list_tenants is not None and not resource.is_tenanted:
        yield _no_strategy(f"{path}.list_tenants")


def _trigger_problems(trigger: Trigger, running: set[str] | None) -> Iterator[Problem]:
    options = trigger.options
    resource = trigger.resource
    path = trigger.path
    yield from action_problems(resource, f"{path}.action", options.action, record=True)
    if options.on_error is not None:
        yield from action_problems(resource, f"{path}.on_error", options.on_error, record=True)
    action = resource.actions.get(options.action)
    if action is not None and action.takes_record:
        yield from _input_problems(f"{path}.action_input", action.input_model, options.action_input)
    if options.scheduler_cron is not None and not is_valid_cron(options.scheduler_cron):
        yield _bad_cron(f"{path}.scheduler_cron", options.scheduler_cron)
    yield from _backoff_problems(f"{path}.backoff", options.backoff)
    yield from where_problems(trigger)
    yield from bulk_problems(trigger)
    for column in options.sort or ():
        if column.removeprefix("-") not in _columns(resource):
            yield Problem(
                f"{path}.sort",
                f"column names of {resource.name} (prefix '-' for descending)",
                repr(column),
                f"use one of: {', '.join(sorted(_columns(resource)))}",
            )
    if options.local_activity and options.chunk_size is not None:
        yield Problem(
            f"{path}.local_activity",
            "local_activity on a trigger with one workflow per record",
            f"local_activity=True with chunk_size={options.chunk_size}",
            "remove local_activity (a chunk's activity heartbeats, a local one cannot) "
            "or chunk_size",
        )
    if options.list_tenants is not None and not resource.is_tenanted:
        yield _no_strategy(f"{path}.list_tenants")
    if resource.is_tenanted and options.list_tenants is None and resource.list_tenants is None:
        yield Problem(
            f"{path}.list_tenants",
            "the tenants to scan, on the trigger or its resource",
            "a tenanted resource with no list_tenants",
            "pass list_tenants=[...] or a callable to the resource or the trigger",
        )
    if running is not None:
        for option, queue in (
            ("queue", trigger.queue),
            ("scheduler_queue", trigger.scheduler_queue),
        ):
            yield from _queue_problems(f"{path}.{option}", queue, running)


def _schedule_problems(scheduled: ScheduledAction, running: set[str] | None) -> Iterator[Problem]:
    options = scheduled.options
    resource = scheduled.resource
    path = scheduled.path
    yield from action_problems(resource, f"{path}.action", options.action, record=False)
    action = resource.actions.get(options.action)
    if action is not None and not action.takes_record:
        yield from _input_problems(f"{path}.action_input", action.input_model, options.action_input)
    if not is_valid_cron(options.cron):
        yield _bad_cron(f"{path}.cron", options.cron)
    yield from _backoff_problems(f"{path}.backoff", options.backoff)
    if options.tenants is not None and not resource.is_tenanted:
        yield _no_strategy(f"{path}.tenants")
    if running is not None:
        yield from _queue_problems(f"{path}.queue", scheduled.queue, running)


def action_problems(resource: Resource, path: str, name: str, *, record: bool) -> Iterator[Problem]:
    """What is wrong with ``path`` running action ``name``: unknown, or of the wrong kind."""
    action = resource.actions.get(name)
    wanted = "record action (record, ctx)" if record else "generic action (ctx)"
    if action is None:
        known = ", ".join(sorted(resource.actions)) or "none declared"
        yield Problem(
            path,
            f"a {wanted} of {resource.name}",
            f"unknown action {name!r} (known: {known})",
            f"declare it with @{resource.name}.action or fix the name",
        )
    elif (
        action.takes_record != record
        or (action.bulk and not record)
        or not accepts(action.function, 2 if record else 1)
    ):
        yield _signature_problem(path, action, record=record)


def _signature_problem(path: str, action: Action, *, record: bool) -> Problem:
    """An action whose parameters do not fit its use: what it takes, what it should take."""
    if action.bulk:
        return bulk_signature_problem(path, action, record=record)
    name, function = action.name, action.function
    if record:
        expected, fix = "a record action (record, ctx)", f"give {name} the parameters (record, ctx)"
        if accepts(function, 1) and not accepts(function, 2):
            fix += " (a function of ctx alone is a generic action: run it with resource.schedule)"
    else:
        expected, fix = "a generic action (ctx)", f"give {name} the single parameter (ctx)"
        if accepts(function, 2):
            fix += " (a function of (record, ctx) is a record action: run it with resource.trigger)"
    return Problem(path, expected, f"{name!r} taking {parameters_text(function)}", fix)


def _input_problems(
    path: str, model: type[BaseModel] | None, raw: dict[str, Any]
) -> Iterator[Problem]:
    if model is None:
        return
    try:
        model.model_validate(raw)
    except ValidationError as error:
        for item in error.errors():
            field = _dotted(item["loc"]) or "input"
            yield Problem(
                f"{path}.{field}",
                f"input accepted by {model.__name__} ({item['msg']})",
                repr(item.get("input")),
                f"change action_input to match {model.__name__}",
            )


def _queue_problems(path: str, queue: str, running: set[str]) -> Iterator[Problem]:
    if queue not in running:
        yield Problem(
            path,
            f"a queue the worker runs ({', '.join(sorted(running)) or 'none'})",
            repr(queue),
            f"add {queue}=<concurrency> to EMBER_QUEUES (--queue) or change the queue",
        )


def _bad_cron(path: str, expression: str) -> Problem:
    return Problem(
        path,
        "a cron expression such as '*/5 * * * *' or '@daily'",
        repr(expression),
        "use five fields: minute hour day-of-month month day-of-week",
    )


def _backoff_problems(path: str, backoff: timedelta | Backoff) -> Iterator[Problem]:
    if isinstance(backoff, Backoff) and backoff.maximum < backoff.initial:
        yield Problem(
            path,
            "a Backoff whose maximum is at least its initial interval",
            f"initial={backoff.initial}, maximum={backoff.maximum}",
            "raise maximum or lower initial (Temporal rejects the retry policy otherwise)",
        )


def _no_strategy(path: str) -> Problem:
    return Problem(
        path,
        "tenants only on a resource with a tenant strategy",
        "tenants on a resource without tenant_column or tenant_schema",
        "pass tenant_column=... or tenant_schema=True to domain.resource(...)",
    )


def _is_mapped(resource: Resource) -> bool:
    return isinstance(inspect(resource.model, raiseerr=False), Mapper)


def _columns(resource: Resource) -> set[str]:
    if not _is_mapped(resource):
        return set()
    return {column.key for column in resource.model.__table__.columns}


def _python_type(column: Any) -> type[Any] | None:
    try:
        return column.type.python_type  # type: ignore[no-any-return]
    except NotImplementedError:
        return None
