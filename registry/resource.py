"""A resource: one SQLAlchemy model with its actions, triggers and scheduled actions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

from pydantic import BaseModel, ValidationError
from sqlalchemy import Column, inspect

from ember.registry.actions import Action, ActionFunction, Policy, positional_arity
from ember.registry.actors import ActorPersister
from ember.registry.declarations import ScheduledAction, Trigger
from ember.registry.errors import Problem
from ember.registry.options import ScheduleOptions, TriggerOptions, option_problems

if TYPE_CHECKING:
    from ember.registry.domain import Domain

F = TypeVar("F", bound=ActionFunction)
TenantSource = Sequence[str] | Callable[..., Any]


class Resource:
    """A mapped class registered with a domain; declare actions and triggers on it.

    Create it with :meth:`ember.Domain.resource`.
    """

    def __init__(
        self,
        domain: Domain,
        model: type[Any],
        *,
        name: str | None = None,
        tenant_column: str | None = None,
        tenant_schema: bool = False,
        actor_persister: ActorPersister | None = None,
        list_tenants: TenantSource | None = None,
    ) -> None:
        self.domain = domain
        self.model = model
        self.name: str = name or str(getattr(model, "__tablename__", model.__name__))
        self.tenant_column = tenant_column
        self.tenant_schema = tenant_schema
        self.actor_persister = actor_persister
        self.list_tenants = list_tenants
        self.actions: dict[str, Action] = {}
        self.triggers: dict[str, Trigger] = {}
        self.schedules: dict[str, ScheduledAction] = {}
        self.duplicate_problems: list[Problem] = []

    @property
    def path(self) -> str:
        """``<domain>.<resource>``, the prefix of problem paths."""
        return f"{self.domain.name}.{self.name}"

    @property
    def is_tenanted(self) -> bool:
        """True when the resource has a tenant strategy."""
        return self.tenant_column is not None or self.tenant_schema

    @property
    def primary_key_columns(self) -> tuple[Column[Any], ...]:
        """The model's primary key columns."""
        return tuple(inspect(self.model).primary_key)

    @property
    def primary_key(self) -> Column[Any]:
        """The single primary key column (validation rejects composite keys)."""
        return self.primary_key_columns[0]

    @overload
    def action(self, function: F) -> F: ...

    @overload
    def action(
        self,
        function: None = None,
        *,
        name: str | None = None,
        input: type[BaseModel] | None = None,
        policy: Policy | None = None,
        bulk: bool = False,
    ) -> Callable[[F], F]: ...

    def action(
        self,
        function: F | None = None,
        *,
        name: str | None = None,
        input: type[BaseModel] | None = None,
        policy: Policy | None = None,
        bulk: bool = False,
    ) -> F | Callable[[F], F]:
        """Register an action; use as ``@resource.action`` or ``@resource.action(input=...)``.

        ``async def f(record, ctx)`` is a record action, ``async def f(ctx)`` a
        generic one; plain ``def`` works too. With ``bulk=True``,
        ``async def f(records, ctx)`` is a bulk action: a trigger with
        ``chunk_size`` calls it once per chunk. The function is returned unchanged.
        """

        def register(fn: F) -> F:
            action_name = name or fn.__name__
            if action_name in self.actions:
                self.duplicate_problems.append(
                    Problem(
                        f"{self.path}.actions.{action_name}",
                        "unique action names",
                        f"a second action named {action_name!r}",
                        "rename one of them or pass name=",
                    )
                )
            takes_record = positional_arity(fn) >= 2
            self.actions[action_name] = Action(action_name, fn, takes_record, input, policy, bulk)
            return fn

        return register if function is None else register(function)

    def trigger(self, name: str, **options: Any) -> Trigger:
        """Declare a trigger; see :class:`ember.registry.options.TriggerOptions` for the options.

        Problems in the options are collected and reported by ``Domain.validate()``.
        """
        declared, problems = self._parse(TriggerOptions, name, options)
        trigger = Trigger(self, name, tuple(problems), declared)
        self._add(self.triggers, trigger)
        return trigger

    def schedule(self, name: str, **options: Any) -> ScheduledAction:
        """Declare a scheduled action: a generic action run on ``cron``."""
        declared, problems = self._parse(ScheduleOptions, name, options)
        scheduled = ScheduledAction(self, name, tuple(problems), declared)
        self._add(self.schedules, scheduled)
        return scheduled

    def _parse(
        self, model: type[Any], name: str, options: dict[str, Any]
    ) -> tuple[Any, list[Problem]]:
        try:
            return model.model_validate(options), []
        except ValidationError as error:
            return None, option_problems(f"{self.path}.{name}", error, model)

    def _add(self, table: dict[str, Any], declaration: Trigger | ScheduledAction) -> None:
        name = declaration.name
        if name in self.triggers or name in self.schedules:
            self.duplicate_problems.append(
                Problem(
                    declaration.path,
                    "trigger and schedule names unique within a resource",
                    f"a second declaration named {name!r}",
                    "rename one of them",
                )
            )
        table[name] = declaration
