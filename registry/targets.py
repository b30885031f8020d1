"""Checking what application code passes to the client, before anything starts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import ValidationError
from sqlalchemy import inspect

from ember.registry.actioncheck import trigger_action_problems
from ember.registry.declarations import ScheduledAction, Trigger
from ember.registry.domain import Domain
from ember.registry.errors import DeclarationDeleted, InvalidArgument, RegistryError, WrongType
from ember.registry.keys import decode_key
from ember.registry.lookup import declaring_domains, named_trigger, record_model
from ember.registry.resource import Resource
from ember.registry.tenancy import check_schema_name, refused

RecordLike = Any  # a model instance, or (Model, pk)
PAYLOAD_LIMIT = 2 * 1024 * 1024  # Temporal's default blob size limit


@dataclass(frozen=True)
class RunTarget:
    """The tenant and key a run is for."""

    tenant: str | None
    key: str


def resolve_trigger(
    domain: Domain, trigger: Trigger | str, model: type[Any] | None = None
) -> Trigger:
    """The trigger object, given it or its name (``name`` or ``resource.name``).

    ``model``: the record's model class, which picks among triggers sharing a name.
    """
    if isinstance(trigger, Trigger):
        if trigger.resource.domain is not domain:
            raise InvalidArgument(
                f"trigger: expected a trigger of domain {domain.name!r}, found {trigger.path}; "
                "fix: use that trigger's domain (its client, or domain=)"
            )
        return not_deleted(trigger)
    if not isinstance(trigger, str):
        raise WrongType(f"trigger: expected a Trigger or its name, found {type(trigger).__name__}")
    return not_deleted(named_trigger(domain.triggers, trigger, model))


def resolve_schedule(domain: Domain, scheduled: ScheduledAction) -> ScheduledAction:
    """``scheduled``, once it is known to belong to ``domain``."""
    if scheduled.resource.domain is not domain:
        raise InvalidArgument(
            f"schedule: expected a scheduled action of domain {domain.name!r}, found "
            f"{scheduled.path}; fix: use the client of that scheduled action's domain"
        )
    return not_deleted(scheduled)


Declaration = Trigger | ScheduledAction
D = TypeVar("D", Trigger, ScheduledAction)


def not_deleted(declaration: D) -> D:
    """``declaration``, unless it is declared ``state="deleted"`` (then DeclarationDeleted)."""
    if declaration.options.state == "deleted":
        kind = "trigger" if isinstance(declaration, Trigger) else "scheduled action"
        raise DeclarationDeleted(
            f"{kind}: expected one that is not deleted, found {declaration.path} with "
            "state='deleted' (its runs end cancelled 'trigger_deleted'); fix: declare "
            "state='active' to run it again, or stop starting runs of it"
        )
    return declaration


def drained(
    domain: Domain, target: Any, *, triggers: bool = True, scheduled_actions: bool = False
) -> list[Declaration]:
    """What a drain of ``target`` runs, in order and each once.

    A domain or resource stands for its active triggers that have a
    ``scheduler_cron`` (when ``triggers``) and its active scheduled actions
    (when ``scheduled_actions``), as AshOban's drains; a trigger or scheduled
    action named explicitly always runs (a deleted one is refused); a list or
    tuple stands for each of its items.
    """
    return list(dict.fromkeys(_drained(domain, target, triggers, scheduled_actions)))


def _drained(
    domain: Domain, target: Any, triggers: bool, scheduled_actions: bool
) -> list[Declaration]:
    if isinstance(target, Sequence) and not isinstance(target, str):
        return [
            declaration
            for item in target
            for declaration in _drained(domain, item, triggers, scheduled_actions)
        ]
    if isinstance(target, Domain):
        if target is not domain:
            raise InvalidArgument(f"target: expected domain {domain.name!r}, found {target.name!r}")
        resources = list(domain.resources.values())
    elif isinstance(target, Resource):
        resources = [domain.get_resource(target.name)]
    elif isinstance(target, ScheduledAction):
        return [resolve_schedule(domain, target)]
    else:
        return [resolve_trigger(domain, target)]
    scheduled = [
        t
        for r in resources
        for t in r.triggers.values()
        if triggers and t.options.state == "active" and t.options.scheduler_cron is not None
    ]
    scheduled_runs = [
        s
        for r in resources
        for s in r.schedules.values()
        if scheduled_actions and s.options.state == "active"
    ]
    return [*scheduled, *scheduled_runs]


def record_target(
    trigger: Trigger, record: RecordLike, tenant: str | None, action_input: dict[str, Any] | None
) -> RunTarget:
    """Check ``record``, ``tenant`` and ``action_input`` against ``trigger``; say whom to run."""
    resource = trigger.resource
    model = resource.model
    if isinstance(record, tuple) and len(record) == 2 and isinstance(record[0], type):
        record_model, pk = record
        if record_model is not model:
            raise WrongType(_wrong_model(trigger, record_model.__name__))
    elif isinstance(record, model):
        identity = inspect(record).identity
        if identity is None:
            raise InvalidArgument(
                f"record: expected a saved {model.__name__}, found one without a primary key; "
                "fix: flush or commit it first"
            )
        (pk,) = identity
        if resource.tenant_column is not None:
            tenant = _own_tenant(trigger, getattr(record, resource.tenant_column), tenant)
    else:
        raise WrongType(_wrong_model(trigger, type(record).__name__))
    key = _checked_key(resource, pk)
    if tenant is not None and not resource.is_tenanted:
        raise InvalidArgument(
            f"tenant: expected none ({trigger.path} has no tenants), found {tenant!r}; "
            "fix: drop tenant=, or declare tenant_column= / tenant_schema= on the resource"
        )
    if resource.is_tenanted and tenant is None:
        raise InvalidArgument(
            f"tenant: expected the tenant of this {model.__name__} ({trigger.path} is tenanted), "
            "found none; fix: pass tenant=..."
        )
    tenant = None if tenant is None else str(tenant)
    check_schema_tenant(resource, tenant)
    if action_input is not None:
        check_input(trigger, action_input)
    return RunTarget(tenant, key)


def check_schema_tenant(resource: Resource, tenant: str | None) -> None:
    """For a ``tenant_schema`` resource: refuse (InvalidArgument) what cannot name a schema."""
    if resource.tenant_schema:
        with refused():
            check_schema_name(resource, tenant)


def enqueueable(trigger: Any, record: RecordLike, domain: Domain | None = None) -> Trigger:
    """The trigger ``trigger`` stands for (it, or its name), once it is known to be valid
    with a usable action.

    A name is looked up in ``domain``, else in the domains that declared a resource
    for the record's model; it must match one trigger there.
    """
    if isinstance(trigger, str) or domain is not None:
        trigger = _resolved_for(trigger, record, domain)
    if not isinstance(trigger, Trigger):
        raise WrongType(
            f"trigger: expected the Trigger that resource.trigger(...) returned or its name, "
            f"found {type(trigger).__name__} {trigger!r}; fix: pass the Trigger object"
        )
    action_name = trigger.options.action  # raises RegistryError for an invalid declaration
    problems = list(
        trigger_action_problems(trigger.resource, f"{trigger.path}.action", action_name)
    )
    if problems:
        raise RegistryError(problems)
    not_deleted(trigger)
    return trigger


def _resolved_for(trigger: Any, record: RecordLike, domain: Domain | None) -> Any:
    model = record_model(record)
    if domain is not None:
        return resolve_trigger(domain, trigger, model)
    domains = declaring_domains(model)
    if not domains:
        raise InvalidArgument(
            f"trigger: expected the name of a trigger of a domain declaring {model.__name__}, "
            f"found {trigger!r} and no domain with a resource for {model.__name__}; fix: "
            f"declare it with domain.resource({model.__name__}), or pass the Trigger object"
        )
    return named_trigger([t for d in domains for t in d.triggers], trigger, model)


def _own_tenant(trigger: Trigger, own: Any, given: str | None) -> str | None:
    if given is None or own is None or str(given) == str(own):
        return own if own is not None else given
    raise InvalidArgument(
        f"tenant: expected the record's own tenant {own!r} ({trigger.path} filters on "
        f"{trigger.resource.tenant_column}), found tenant={given!r}; fix: drop tenant= or pass "
        "the record of that tenant"
    )


def _checked_key(resource: Resource, pk: Any) -> str:
    try:
        decode_key(resource, str(pk))
    except (TypeError, ValueError):
        expected = resource.primary_key.type.python_type.__name__
        raise InvalidArgument(
            f"pk: expected a {expected} key for {resource.name}, found {pk!r}; "
            "fix: pass the record's primary key value"
        ) from None
    return str(pk)


def check_input(declaration: Declaration, action_input: dict[str, Any]) -> None:
    """Refuse (ValueError) input too large to travel, or that, merged over the declaration's
    ``action_input``, its action's model does not accept."""
    size = len(json.dumps(action_input, default=str).encode())
    if size > PAYLOAD_LIMIT:
        raise InvalidArgument(
            f"input: expected at most {PAYLOAD_LIMIT} bytes (Temporal's payload limit), found "
            f"{size}; fix: pass a reference (an id) and load the data in the action"
        )
    merged = declaration.input_for(action_input)
    try:
        declaration.action.parse_input(merged)
    except ValidationError as error:
        raise InvalidArgument(
            f"input: expected input accepted by {declaration.action.name}'s model once "
            f"merged over {declaration.path}'s action_input, found {merged!r} "
            f"({error.error_count()} errors: {error.errors()[0]['msg']}); "
            "fix: match the action's input model"
        ) from None


def _wrong_model(trigger: Trigger, found: str) -> str:
    model = trigger.resource.model.__name__
    return (
        f"record: expected a {model} instance or ({model}, pk) for {trigger.path}, found {found}; "
        "fix: pass a record of the trigger's resource"
    )
