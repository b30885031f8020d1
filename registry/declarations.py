"""A declared trigger or scheduled action, bound to its resource."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ember.registry import naming
from ember.registry.errors import Problem, RegistryError
from ember.registry.options import ScheduleOptions, TriggerOptions

if TYPE_CHECKING:
    from ember.registry.actions import Action
    from ember.registry.actors import ActorPersister
    from ember.registry.resource import Resource

Options = TypeVar("Options", TriggerOptions, ScheduleOptions)


@dataclass(frozen=True, eq=False)
class _Declaration(Generic[Options]):
    resource: Resource
    name: str
    declaration_problems: tuple[Problem, ...] = field(default=(), repr=False)
    declared: Options | None = None

    @property
    def options(self) -> Options:
        """The validated options; raises RegistryError if the declaration was invalid."""
        if self.declaration_problems:
            raise RegistryError(self.declaration_problems)
        assert self.declared is not None
        return self.declared

    @property
    def action(self) -> Action:
        """The action this declaration runs (a record action for a trigger)."""
        return self.resource.actions[self.options.action]

    @property
    def queue(self) -> str:
        """Queue of the runs (defaults to the resource name)."""
        return self.options.queue or self.resource.name

    @property
    def domain_name(self) -> str:
        return self.resource.domain.name

    @property
    def actor_persister(self) -> ActorPersister | None:
        """The declaration's ``actor_persister``, else its resource's."""
        return self.options.actor_persister or self.resource.actor_persister

    @property
    def default_actor(self) -> Any:
        """The declaration's ``default_actor``, else its domain's."""
        own = self.options.default_actor
        return self.resource.domain.default_actor if own is None else own

    @property
    def path(self) -> str:
        """``<domain>.<resource>.<name>``, the prefix of problem paths."""
        return f"{self.resource.path}.{self.name}"

    @property
    def schedule_id(self) -> str:
        """Id of this declaration's Temporal Schedule with no task queue prefix."""
        return self.schedule_id_for("")

    def schedule_id_for(self, prefix: str) -> str:
        """Id of this declaration's Temporal Schedule under task queue prefix ``prefix``."""
        return naming.schedule_id(self.domain_name, self.resource.name, self.name, prefix=prefix)

    def input_for(self, given: dict[str, Any] | None) -> dict[str, Any]:
        """The action's input: ``action_input`` merged with a run's own (its keys win)."""
        return {**self.options.action_input, **(given or {})}

    def distinct_input(self, given: dict[str, Any] | None) -> dict[str, Any] | None:
        """The merged input when it differs from ``action_input`` (its run's id says so)."""
        merged = self.input_for(given)
        return None if merged == self.options.action_input else merged

    @property
    def inactive_reason(self) -> str | None:
        """Why its runs end ``cancelled`` without acting: ``trigger_paused`` or
        ``trigger_deleted`` (scheduled actions too); None while it is active."""
        state = self.options.state
        return None if state == "active" else f"trigger_{state}"


@dataclass(frozen=True, eq=False)
class Trigger(_Declaration[TriggerOptions]):
    """A trigger: scan rows matching ``where`` and run an action on each one."""

    @property
    def on_error_action(self) -> Action | None:
        """The compensating action, if declared."""
        name = self.options.on_error
        return None if name is None else self.resource.actions[name]

    @property
    def scheduler_queue(self) -> str:
        """Queue of scans (defaults to ``queue``)."""
        return self.options.scheduler_queue or self.queue

    @property
    def key(self) -> str:
        """The key this trigger's rows carry in Ember's own tables."""
        return naming.trigger_key(self.domain_name, self.resource.name, self.name)

    @property
    def has_schedule(self) -> bool:
        """True when the trigger scans on a cron and is not deleted."""
        return self.options.scheduler_cron is not None and self.options.state != "deleted"

    def workflow_id(
        self,
        tenant: str | None,
        pk: str,
        prefix: str = "",
        action_input: dict[str, Any] | None = None,
    ) -> str:
        """Id of this trigger's run for one record (under task queue prefix ``prefix``).

        A run given an ``action_input`` that changes the trigger's own has an id
        of its own (its input's digest), so it never joins a run with other input.
        """
        return naming.record_workflow_id(
            self.domain_name,
            self.resource.name,
            self.name,
            tenant,
            pk,
            prefix=prefix,
            action_input=self.distinct_input(action_input),
        )


@dataclass(frozen=True, eq=False)
class ScheduledAction(_Declaration[ScheduleOptions]):
    """A generic action run on a cron, per tenant when the resource has tenants."""

    @property
    def has_schedule(self) -> bool:
        """True unless the scheduled action is deleted."""
        return self.options.state != "deleted"
