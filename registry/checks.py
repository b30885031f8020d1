"""Checks for action policies."""

from __future__ import annotations

from registry.context import ActionContext


def trigger_interaction(ctx: ActionContext) -> bool:
    """True when Ember itself started the run (a scan or a scheduled action).

    A policy can return this to let trigger runs through whatever the actor,
    as AshOban's ``AshObanInteraction`` check does. Runs started by
    application code (``run_trigger``, ``enqueue_trigger``) are ``"direct"``
    and still face the policy.
    """
    return ctx.source in ("trigger", "schedule")
