"""Checks for action policies."""

from __future__ import annotations

from ember.registry.context import ActionContext


def trigger_interaction(ctx: ActionContext) -> bool:
    """True when Ember runs the action, whoever started the run, as AshOban's
    ``AshObanInteraction`` is for every job AshOban runs.

    Scans, scheduled actions, ``run_trigger``, ``run_triggers``,
    ``enqueue_trigger`` and drains all pass; a context built by application
    code does not. A policy that wants to tell runs apart reads ``ctx.source``
    (``"trigger"``, ``"schedule"`` or ``"direct"``).
    """
    return ctx.by_ember
