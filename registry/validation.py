"""Whole-registry validation: every problem found, each located and with a fix."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from croniter import croniter
from pydantic import BaseModel, ValidationError
from sqlalchemy import inspect
from sqlalchemy.orm import Mapper

from ember.registry.actioncheck import schedule_action_problems, trigger_action_problems
from ember.registry.bulkcheck import bulk_problems
from ember.registry.errors import Problem
from ember.registry.names import name_problem
from ember.registry.options import AttemptDuration, Backoff, dotted
from ember.registry.pacing import pacing_problems
from ember.registry.wherecheck import where_problems

if TYPE_CHECKING:
    from ember.registry.declarations import ScheduledAction, Trigger
    from ember.registry.domain import Domain
    from ember.registry.resource import Resource

SUPPORTED_KEY_TYPES = (int, str, uuid.UUID)


def is_valid_cron(expression: str) -> bool:
    """Whether ``expression`` is a five-field cron line or a macro such as ``@daily``.

    croniter also takes a sixth field (seconds) that Temporal reads as the year,
    so only five fields are accepted.
    """
    if not expression.startswith("@") and len(expression.split()) != 5:
        return False
    return bool(croniter.is_valid(expression))


def validate_domain(
    domain: Domain, queues: Iterable[str] | None = None, *, require_all_queues: bool = True
) -> list[Problem]:
    """Every problem in ``domain``; ``queues`` are the queues a worker runs, if known.

    Without ``require_all_queues`` the worker may run some of the declared queues
    (other workers run the rest): only the queues it names are checked.
    """
    running = None if queues is None else set(queues)
    problems: list[Problem] = list(domain.duplicate_problems)
    if running is not None:
        problems += _unused_queues(domain, running)
    if not require_all_queues:
        running = None
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
    yield from trigger_action_problems(resource, f"{path}.action", options.action)
    if options.on_error is not None:
        yield from trigger_action_problems(resource, f"{path}.on_error", options.on_error)
    action = resource.actions.get(options.action)
    if action is not None:
        yield from _input_problems(f"{path}.action_input", action.input_model, options.action_input)
    if options.scheduler_cron is not None and not is_valid_cron(options.scheduler_cron):
        yield _bad_cron(f"{path}.scheduler_cron", options.scheduler_cron)
    yield from _backoff_problems(f"{path}.backoff", options.backoff)
    yield from pacing_problems(path, options.backoff, options.timeout, options.max_attempts)
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
    if resource.tenant_schema and options.list_tenants is None and resource.list_tenants is None:
        yield _no_tenants(f"{path}.list_tenants", "list_tenants", "trigger")
    if "use_tenant_from_record" in options.model_fields_set and resource.tenant_column is None:
        yield Problem(
            f"{path}.use_tenant_from_record",
            "use_tenant_from_record on a resource with a tenant_column",
            f"it on {resource.name}, whose records hold no tenant column",
            "remove use_tenant_from_record (schema tenants come from list_tenants)",
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
    yield from schedule_action_problems(resource, f"{path}.action", options.action)
    action = resource.actions.get(options.action)
    if action is not None and not action.takes_record:
        yield from _input_problems(f"{path}.action_input", action.input_model, options.action_input)
    if not is_valid_cron(options.cron):
        yield _bad_cron(f"{path}.cron", options.cron)
    yield from _backoff_problems(f"{path}.backoff", options.backoff)
    yield from pacing_problems(path, options.backoff, options.timeout, options.max_attempts)
    if options.tenants is not None and not resource.is_tenanted:
        yield _no_strategy(f"{path}.tenants")
    if resource.tenant_schema and options.tenants is None and resource.list_tenants is None:
        yield _no_tenants(f"{path}.tenants", "tenants", "scheduled action")
    if running is not None:
        yield from _queue_problems(f"{path}.queue", scheduled.queue, running)


def _input_problems(
    path: str, model: type[BaseModel] | None, raw: dict[str, Any]
) -> Iterator[Problem]:
    if model is None:
        return
    try:
        model.model_validate(raw)
    except ValidationError as error:
        for item in error.errors():
            field = dotted(item["loc"]) or "input"
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
            f"add {queue}=<concurrency> to EMBER_QUEUES (--queues) or change the queue; "
            "or, when other workers run it, set EMBER_REQUIRE_ALL_QUEUES=false",
        )


def _unused_queues(domain: Domain, running: set[str]) -> Iterator[Problem]:
    """Queues a worker would run that no declaration uses (a misspelling, most likely).

    Not checked while a declaration is invalid: its queue is not known.
    """
    declarations: list[Trigger | ScheduledAction] = [*domain.triggers, *domain.schedules]
    if any(declaration.declaration_problems for declaration in declarations):
        return
    declared = domain.queues
    for queue in sorted(running - declared):
        yield Problem(
            f"{domain.name}.queues.{queue}",
            f"a queue some declaration uses ({', '.join(sorted(declared)) or 'none'})",
            repr(queue),
            f"remove {queue} from EMBER_QUEUES (--queues) or fix its name",
        )


def _bad_cron(path: str, expression: str) -> Problem:
    return Problem(
        path,
        "a cron expression such as '*/5 * * * *' or '@daily'",
        repr(expression),
        "use five fields: minute hour day-of-month month day-of-week",
    )


def _backoff_problems(
    path: str, backoff: timedelta | Backoff | AttemptDuration
) -> Iterator[Problem]:
    if isinstance(backoff, Backoff) and backoff.maximum < backoff.initial:
        yield Problem(
            path,
            "a Backoff whose maximum is at least its initial interval",
            f"initial={backoff.initial}, maximum={backoff.maximum}",
            "raise maximum or lower initial (Temporal rejects the retry policy otherwise)",
        )


def _no_tenants(path: str, option: str, kind: str) -> Problem:
    """A ``tenant_schema`` declaration with no tenants: there is no global scope to run in."""
    return Problem(
        path,
        f"the tenants to run for, on the {kind} or its resource (schema tenants have no "
        "global scope)",
        f"none on the {kind} or its tenant_schema resource",
        f"pass {option}=[...] or a callable to the {kind}, or list_tenants= to the resource",
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
