"""The Domain: the root of a registry of resources, triggers and scheduled actions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from ember.registry.declarations import ScheduledAction, Trigger
from ember.registry.errors import Problem, RegistryError, UnknownDeclaration
from ember.registry.lookup import note_declared
from ember.registry.names import name_problem
from ember.registry.resource import Resource, TenantSource
from ember.registry.validation import validate_domain


class Domain:
    """A named group of resources; its name is part of every Temporal id and task queue.

    Args:
        name: short identifier (ASCII letters, digits, ``_`` and ``-``); any other
            name raises :class:`RegistryError` at once.
        default_actor: the actor of runs started without one.
        shared_context: given to every action as ``ctx.shared``.
    """

    def __init__(
        self,
        name: str,
        *,
        default_actor: Any = None,
        shared_context: dict[str, Any] | None = None,
    ) -> None:
        problem = name_problem(f"Domain({name!r})", "domain", name, "choose a short identifier")
        if problem is not None:
            raise RegistryError([problem])
        self.name = name
        self.default_actor = default_actor
        self.shared_context = dict(shared_context or {})
        self.resources: dict[str, Resource] = {}
        self.duplicate_problems: list[Problem] = []

    def resource(
        self,
        model: type[Any],
        *,
        name: str | None = None,
        tenant_column: str | None = None,
        tenant_schema: bool = False,
        actor_persister: Any = None,
        list_tenants: TenantSource | None = None,
    ) -> Resource:
        """Register a SQLAlchemy mapped class; its name defaults to ``__tablename__``.

        Args:
            model: the mapped class.
            name: resource name, unique in the domain.
            tenant_column: attribute strategy: the column holding the tenant.
            tenant_schema: schema strategy: each tenant is a PostgreSQL schema
                holding the model's table; a run's tables without a declared
                schema resolve there only.
            actor_persister: turns actors into references and back
                (:class:`ember.RowActorPersister` for rows).
            list_tenants: tenants to scan: a list, or a callable (sync or
                async, no argument or the session) returning one.
        """
        resource = Resource(
            self,
            model,
            name=name,
            tenant_column=tenant_column,
            tenant_schema=tenant_schema,
            actor_persister=actor_persister,
            list_tenants=list_tenants,
        )
        if resource.name in self.resources:
            self.duplicate_problems.append(
                Problem(
                    f"{self.name}.{resource.name}",
                    "unique resource names",
                    f"a second resource named {resource.name!r}",
                    "pass name= to one of them",
                )
            )
        self.resources[resource.name] = resource
        note_declared(self, model)
        return resource

    @property
    def triggers(self) -> list[Trigger]:
        """Every trigger, in declaration order."""
        return [t for r in self.resources.values() for t in r.triggers.values()]

    @property
    def schedules(self) -> list[ScheduledAction]:
        """Every scheduled action, in declaration order."""
        return [s for r in self.resources.values() for s in r.schedules.values()]

    @property
    def queues(self) -> set[str]:
        """Every queue the declarations use."""
        queues = {s.queue for s in self.schedules}
        for trigger in self.triggers:
            queues |= {trigger.queue, trigger.scheduler_queue}
        return queues

    @property
    def metadata(self) -> list[Any]:
        """The distinct SQLAlchemy ``MetaData`` of the resources' models (the app's tables)."""
        found: list[Any] = []
        for resource in self.resources.values():
            metadata = getattr(resource.model, "metadata", None)
            if metadata is not None and all(metadata is not seen for seen in found):
                found.append(metadata)
        return found

    def largest_chunk(self, queue: str) -> int | None:
        """The largest ``chunk_size`` of the triggers whose runs use ``queue`` (None: no chunks)."""
        sizes = [
            t.options.chunk_size
            for t in self.triggers
            if t.queue == queue and t.options.chunk_size is not None
        ]
        return max(sizes, default=None)

    def get_resource(self, name: str) -> Resource:
        """The resource called ``name``; an UnknownDeclaration (a KeyError) lists the known."""
        try:
            return self.resources[name]
        except KeyError:
            known = ", ".join(sorted(self.resources)) or "none"
            raise UnknownDeclaration(
                f"resource: expected one of ({known}) in domain {self.name!r}, found {name!r}"
            ) from None

    def get_trigger(self, resource: str, name: str) -> Trigger:
        """The trigger ``name`` of ``resource``; an UnknownDeclaration lists the known ones."""
        return _named(self.get_resource(resource).triggers, "trigger", resource, name)

    def get_schedule(self, resource: str, name: str) -> ScheduledAction:
        """The scheduled action ``name`` of ``resource``; UnknownDeclaration lists the known."""
        return _named(self.get_resource(resource).schedules, "schedule", resource, name)

    def get_declaration(self, resource: str, name: str) -> Trigger | ScheduledAction:
        """The trigger or scheduled action ``name`` of ``resource`` (triggers first)."""
        found = self.get_resource(resource)
        declarations: dict[str, Trigger | ScheduledAction] = {**found.schedules, **found.triggers}
        return _named(declarations, "name", resource, name)

    def problems(
        self, queues: Iterable[str] | None = None, *, require_all_queues: bool = True
    ) -> list[Problem]:
        """Every problem in the registry.

        ``queues``: the queues a worker runs; with ``require_all_queues`` they must
        include every queue the declarations use (else other workers run the rest).
        """
        return validate_domain(self, queues, require_all_queues=require_all_queues)

    def validate(
        self, queues: Iterable[str] | None = None, *, require_all_queues: bool = True
    ) -> None:
        """Raise one :class:`RegistryError` listing every problem, or return."""
        problems = self.problems(queues, require_all_queues=require_all_queues)
        if problems:
            raise RegistryError(problems)


Named = TypeVar("Named")


def _named(known: dict[str, Named], what: str, resource: str, name: str) -> Named:
    """``known[name]``, or an UnknownDeclaration listing the names there are."""
    if name not in known:
        listed = ", ".join(sorted(known)) or "none"
        raise UnknownDeclaration(
            f"{what}: expected one of ({listed}) on {resource!r}, found {name!r}"
        )
    return known[name]
