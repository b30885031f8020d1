"""Ember's declarative layer: domains, resources, actions, triggers and scheduled actions.

This package never imports temporalio: it describes what should run, the
``activities`` and ``workflows`` packages run it.
"""

from ember.registry import checks, naming
from ember.registry.actions import Action
from ember.registry.actors import ActorNotFound, ActorPersister, ActorRef, RowActorPersister
from ember.registry.context import ActionContext, ErrorInfo
from ember.registry.control import Cancel, Discard, Snooze
from ember.registry.declarations import ScheduledAction, Trigger
from ember.registry.domain import Domain
from ember.registry.errors import (
    ConfigurationError,
    EmberError,
    InvalidArgument,
    Problem,
    RegistryError,
    UnknownDeclaration,
    WrongType,
)
from ember.registry.options import Backoff, ScheduleOptions, TriggerOptions
from ember.registry.outbox import enqueue_trigger
from ember.registry.resource import Resource
from ember.registry.tables import create_ember_tables, ember_metadata
from ember.registry.timeexpr import ago, from_now

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
