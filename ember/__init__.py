"""Ember: declarative background triggers for SQLAlchemy models, run durably on Temporal.

Everything an application needs is importable from here::

    from ember import ActionContext, Domain, TriggerClient, ago

and its tests' assertions from :mod:`ember.testing`. The internals live in four modules
under this one: ``ember.registry`` (the declarations), ``ember.activities`` and
``ember.workflows`` (the Temporal side) and ``ember.worker`` (the command line, also the
``ember`` console script).

Names load on first use: ``from ember import Domain`` imports the declarative layer only,
not Temporal, and the pytest plugin (``ember.workflows.testing.plugin``) loads nothing
else through this module.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ember.activities.run_ids import RunIdTooLong
    from ember.activities.run_results import RunHandle
    from ember.activities.types import Outcome
    from ember.registry import (
        Action,
        ActionContext,
        ActorNotFound,
        ActorPersister,
        ActorRef,
        Backoff,
        Cancel,
        ConfigurationError,
        Discard,
        Domain,
        EmberError,
        ErrorInfo,
        InvalidArgument,
        Problem,
        RegistryError,
        Resource,
        RowActorPersister,
        ScheduledAction,
        Snooze,
        Trigger,
        UnknownDeclaration,
        WrongType,
        ago,
        checks,
        create_ember_tables,
        ember_metadata,
        enqueue_trigger,
        from_now,
    )
    from ember.registry.errors import DeclarationDeleted
    from ember.registry.tenancy import TenantNotFound
    from ember.workflows.client import TriggerClient
    from ember.workflows.connection import TemporalUnreachable
    from ember.workflows.drain import DrainTooLarge, TriggerRunSummary
    from ember.workflows.settings import Settings, SettingsError
    from ember.workflows.testing.extras import MissingExtra
    from ember.workflows.worker import EmberWorker

# Where the names of __all__ are defined, searched in this order (the declarative layer
# first: it never imports Temporal).
HOMES = (
    "ember.registry",
    "ember.registry.errors",
    "ember.registry.tenancy",
    "ember.activities.types",
    "ember.activities.run_ids",
    "ember.activities.run_results",
    "ember.workflows.client",
    "ember.workflows.connection",
    "ember.workflows.drain",
    "ember.workflows.settings",
    "ember.workflows.worker",
    "ember.workflows.testing.extras",
)

__all__ = [
    "Action",
    "ActionContext",
    "ActorNotFound",
    "ActorPersister",
    "ActorRef",
    "Backoff",
    "Cancel",
    "ConfigurationError",
    "DeclarationDeleted",
    "Discard",
    "Domain",
    "DrainTooLarge",
    "EmberError",
    "EmberWorker",
    "ErrorInfo",
    "InvalidArgument",
    "MissingExtra",
    "Outcome",
    "Problem",
    "RegistryError",
    "Resource",
    "RowActorPersister",
    "RunHandle",
    "RunIdTooLong",
    "ScheduledAction",
    "Settings",
    "SettingsError",
    "Snooze",
    "TemporalUnreachable",
    "TenantNotFound",
    "Trigger",
    "TriggerClient",
    "TriggerRunSummary",
    "UnknownDeclaration",
    "WrongType",
    "ago",
    "checks",
    "create_ember_tables",
    "ember_metadata",
    "enqueue_trigger",
    "from_now",
]


if not TYPE_CHECKING:  # type checkers see the imports above, and flag unknown names

    def __getattr__(name: str) -> Any:
        """Load a public name from the first of :data:`HOMES` defining it (PEP 562)."""
        if name in __all__:
            for home in HOMES:
                module = importlib.import_module(home)
                if name in vars(module):
                    value = vars(module)[name]
                    globals()[name] = value
                    return value
        raise AttributeError(f"module 'ember' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
