"""checks.trigger_interaction: true in every context Ember runs an action with, by any source."""

from __future__ import annotations

from typing import Any, cast

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from ember.registry import ActionContext, checks
from ember.registry.context import RunSource


def context(source: RunSource, actor: Any = None, *, by_ember: bool = True) -> ActionContext:
    return ActionContext(
        session=cast(AsyncSession, None), source=source, actor=actor, by_ember=by_ember
    )


@pytest.mark.parametrize("source", ["trigger", "schedule", "direct"])
def test_trigger_interaction_passes_every_run_ember_starts(source: RunSource) -> None:
    assert checks.trigger_interaction(context(source))


def test_trigger_interaction_is_false_in_a_context_application_code_builds() -> None:
    built = ActionContext(session=cast(AsyncSession, None), source="trigger")
    assert not checks.trigger_interaction(built)
    assert not checks.trigger_interaction(context("trigger", by_ember=False))


def test_trigger_interaction_ignores_the_actor() -> None:
    assert checks.trigger_interaction(context("direct", actor=None))
    assert not checks.trigger_interaction(context("direct", actor="admin", by_ember=False))


def test_a_policy_tells_runs_apart_by_source() -> None:
    def policy(actor: Any, record: Any, ctx: ActionContext) -> bool:
        return checks.trigger_interaction(ctx) and (ctx.source != "direct" or actor == "admin")

    assert policy(None, None, context("trigger"))
    assert policy("admin", None, context("direct"))
    assert not policy("guest", None, context("direct"))
