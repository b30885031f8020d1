"""Ember's declarative layer: domains, resources, actions, triggers and scheduled actions.

This package never imports temporalio: it describes what should run, the
``activities`` and ``workflows`` packages run it.
"""

from registry import checks, naming
from registry.actions import Action
from registry.actors import ActorNotFound, ActorPersister, ActorRef, RowActorPersister
from registry.context import ActionContext, ErrorInfo
from registry.control import Cancel, Discard, Snooze
from registry.declarations import ScheduledAction, Trigger
from registry.domain import Domain
from registry.errors import (
    ConfigurationError,
    EmberError,
    InvalidArgument,
    Problem,
    RegistryError,
    UnknownDeclaration,
    WrongType,
)
from registry.options import Backoff, ScheduleOptions, TriggerOptions
from registry.outbox import enqueue_trigger
from registry.resource import Resource
from registry.tables import create_ember_tables, ember_metadata
from registry.timeexpr import ago, from_now

__all__ = [
    "Action",
    "ActionContext",
    "ActorNotFound",
    "ActorPersister",
    "ActorRef",
    "Backoff",
    "Cancel",
    "ConfigurationError",
    "Discard",
    "Domain",
    "EmberError",
    "ErrorInfo",
    "InvalidArgument",
    "Problem",
    "RegistryError",
    "Resource",
    "RowActorPersister",
    "ScheduleOptions",
    "ScheduledAction",
    "Snooze",
    "Trigger",
    "TriggerOptions",
    "UnknownDeclaration",
    "WrongType",
    "ago",
    "checks",
    "create_ember_tables",
    "ember_metadata",
    "enqueue_trigger",
    "from_now",
    "naming",
]
