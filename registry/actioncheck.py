"""Checking the action a trigger or scheduled action runs: known, and callable as its kind."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ember.registry.actions import accepts, parameters_text
from ember.registry.bulkcheck import bulk_signature_problem
from ember.registry.errors import Problem

if TYPE_CHECKING:
    from ember.registry.resource import Resource

RECORD_OR_GENERIC = "a record action (record, ctx) or a generic action (ctx)"


def trigger_action_problems(resource: Resource, path: str, name: str) -> Iterator[Problem]:
    """What is wrong with a trigger running action ``name``: unknown, or not callable as
    its kind (a record action as ``(record, ctx)``, a generic one as ``(ctx)``)."""
    action = resource.actions.get(name)
    if action is None:
        yield _unknown_action(resource, path, name, RECORD_OR_GENERIC)
    elif action.bulk:
        if not accepts(action.function, 2):
            yield bulk_signature_problem(path, action, record=True)
    elif not accepts(action.function, 2 if action.takes_record else 1):
        yield Problem(
            path,
            RECORD_OR_GENERIC,
            f"{name!r} taking {parameters_text(action.function)}",
            f"give {name} the parameters (record, ctx), or (ctx) to be given the record's "
            "key as ctx.record_key",
        )


def schedule_action_problems(resource: Resource, path: str, name: str) -> Iterator[Problem]:
    """What is wrong with a scheduled action running action ``name``: unknown, or not
    callable as ``(ctx)``."""
    action = resource.actions.get(name)
    if action is None:
        yield _unknown_action(resource, path, name, "a generic action (ctx)")
    elif action.bulk:
        yield bulk_signature_problem(path, action, record=False)
    elif action.takes_record or not accepts(action.function, 1):
        fix = f"give {name} the single parameter (ctx)"
        if accepts(action.function, 2):
            fix += " (a function of (record, ctx) is a record action: run it with resource.trigger)"
        found = f"{name!r} taking {parameters_text(action.function)}"
        yield Problem(path, "a generic action (ctx)", found, fix)


def _unknown_action(resource: Resource, path: str, name: str, wanted: str) -> Problem:
    known = ", ".join(sorted(resource.actions)) or "none declared"
    return Problem(
        path,
        f"{wanted} of {resource.name}",
        f"unknown action {name!r} (known: {known})",
        f"declare it with @{resource.name}.action or fix the name",
    )
