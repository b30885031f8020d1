"""Validation of bulk triggers: a bulk action runs per chunk, with a bulk on_error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ember.registry.actions import Action, parameters_text
from ember.registry.errors import Problem

if TYPE_CHECKING:
    from ember.registry.declarations import Trigger


def bulk_problems(trigger: Trigger) -> Iterator[Problem]:
    """What is wrong with ``trigger`` as a bulk trigger (or with a bulk on_error on it)."""
    options = trigger.options
    actions = trigger.resource.actions
    path = trigger.path
    action = actions.get(options.action)
    on_error = actions.get(options.on_error) if options.on_error is not None else None
    if action is None:
        return
    if action.bulk and options.chunk_size is None:
        yield Problem(
            f"{path}.chunk_size",
            f"chunk_size on a trigger whose action {action.name!r} is a bulk action",
            "chunk_size=None",
            "pass chunk_size=<records per call>, e.g. chunk_size=500, or declare "
            f"{action.name} without bulk=True to run it once per record",
        )
    if on_error is not None and on_error.bulk != action.bulk:
        yield _on_error_kind(f"{path}.on_error", action, on_error, trigger.resource.name)
    if action.bulk and options.read_metadata is not None:
        yield Problem(
            f"{path}.read_metadata",
            "no read_metadata on a bulk trigger (one ctx serves the whole chunk)",
            "a read_metadata callable",
            "remove read_metadata and read what you need from the records in the action",
        )


def _on_error_kind(path: str, action: Action, on_error: Action, resource: str) -> Problem:
    """An on_error whose kind (bulk or per record) differs from the action's."""
    if action.bulk:
        return Problem(
            path,
            f"a bulk on_error (records, ctx), as the trigger's action {action.name!r} is bulk",
            f"the record action {on_error.name!r}",
            f"declare {on_error.name} with @{resource}.action(bulk=True) taking (records, ctx)",
        )
    return Problem(
        path,
        f"a record on_error (record, ctx), as the trigger's action {action.name!r} is",
        f"the bulk action {on_error.name!r}",
        f"declare {on_error.name} without bulk=True, or make {action.name} a bulk action",
    )


def bulk_signature_problem(path: str, action: Action, *, record: bool) -> Problem:
    """A bulk action whose parameters do not fit, or that is run by a scheduled action."""
    found = f"{action.name!r} taking {parameters_text(action.function)}"
    if record:
        return Problem(
            path,
            "a bulk action (records, ctx)",
            found,
            f"give {action.name} the parameters (records, ctx)",
        )
    return Problem(
        path,
        "a generic action (ctx)",
        f"the bulk action {found}",
        f"run {action.name} from a trigger with chunk_size; a scheduled action runs a "
        "generic action (ctx)",
    )
