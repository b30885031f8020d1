"""checks.trigger_interaction: Ember-started runs pass, direct runs face the policy."""

from __future__ import annotations

from typing import Any, cast

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from registry import ActionContext, checks
from registry.context import RunSource


def context(source: RunSource, actor: Any = None) -> ActionContext:
    return ActionContext(session=cast(AsyncSession, None), source=source, actor=actor)


@pytest.mark.parametrize(
    ("source", "allowed"), [("trigger", True), ("schedule", True), ("direct", False)]
)
def test_trigger_interaction_by_source(source: RunSource, allowed: bool) -> None:
    assert checks.trigger_interaction(context(source)) is allowed


def test_trigger_interaction_ignores_the_actor() -> None:
    assert checks.trigger_interaction(context("trigger", actor=None))
    assert not checks.trigger_interaction(context("direct", actor="admin"))


def test_a_policy_built_on_it() -> None:
    def policy(actor: Any, record: Any, ctx: ActionContext) -> bool:
        return checks.trigger_interaction(ctx) or actor == "admin"

    assert policy(None, None, context("trigger"))
    assert policy("admin", None, context("direct"))
    assert not policy("guest", None, context("direct"))
