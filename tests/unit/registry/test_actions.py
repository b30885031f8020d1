"""Actions: record or generic, async or sync, told apart from the signature."""

from __future__ import annotations

import functools
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ember.registry import Action, ActionContext, Domain, Resource
from ember.registry.actions import action_name, positional_arity


class Base(DeclarativeBase):
    """Declarative base of this module."""


class Lead(Base):
    """The resource actions are registered on."""

    __tablename__ = "leads"

    id: Mapped[int] = mapped_column(primary_key=True)


async def async_record(lead: Lead, ctx: ActionContext) -> None:
    """Async record action."""


async def async_generic(ctx: ActionContext) -> None:
    """Async generic action."""


def sync_record(lead: Lead, ctx: ActionContext) -> None:
    """Sync record action."""


def sync_generic(ctx: ActionContext) -> None:
    """Sync generic action."""


async def with_keyword_only(lead: Lead, ctx: ActionContext, *, dry_run: bool = False) -> None:
    """Keyword-only parameters do not count."""


class Scorer:
    """Bound methods: ``self`` does not count."""

    async def score(self, lead: Lead, ctx: ActionContext) -> None:
        """Async record action as a method."""

    def tally(self, ctx: ActionContext) -> None:
        """Sync generic action as a method."""


def leads() -> Resource:
    return Domain("crm").resource(Lead)


@pytest.mark.parametrize(
    ("function", "takes_record", "is_async", "kind"),
    [
        (async_record, True, True, "record"),
        (async_generic, False, True, "generic"),
        (sync_record, True, False, "record"),
        (sync_generic, False, False, "generic"),
        (with_keyword_only, True, True, "record"),
        (Scorer().score, True, True, "record"),
        (Scorer().tally, False, False, "generic"),
    ],
    ids=[
        "async-record",
        "async-generic",
        "sync-record",
        "sync-generic",
        "keyword-only",
        "bound-async-method",
        "bound-sync-method",
    ],
)
def test_record_or_generic_and_async_or_sync(
    function: Any, takes_record: bool, is_async: bool, kind: str
) -> None:
    resource = leads()
    assert resource.action(function) is function  # the decorator returns it unchanged
    action = resource.actions[function.__name__]
    assert (action.takes_record, action.is_async, action.kind) == (takes_record, is_async, kind)
    assert action.function is function


def test_partial_of_an_async_function_is_async() -> None:
    resource = leads()
    partial = functools.partial(async_record)
    resource.action(name="partial")(partial)
    action = resource.actions["partial"]
    assert action.takes_record and action.is_async


def test_positional_arity() -> None:
    assert positional_arity(async_record) == 2
    assert positional_arity(sync_generic) == 1
    assert positional_arity(with_keyword_only) == 2
    assert positional_arity(lambda *args: None) == 99


class Input(BaseModel):
    """An action's input model."""

    reason: str


def test_name_input_and_policy_are_registered() -> None:
    def policy(actor: Any, record: Any, ctx: ActionContext) -> bool:
        return actor is not None

    resource = leads()
    resource.action(name="escalate", input=Input, policy=policy)(async_record)
    action = resource.actions["escalate"]
    assert action == Action("escalate", async_record, True, Input, policy)
    assert "async_record" not in resource.actions


def test_parse_input_validates_against_the_model_or_copies_the_dict() -> None:
    typed = Action("a", async_record, True, Input)
    assert typed.parse_input({"reason": "stale"}) == Input(reason="stale")
    with pytest.raises(ValidationError):
        typed.parse_input({"reason": 3})
    raw = {"anything": 1}
    untyped = Action("b", async_record, True)
    assert untyped.parse_input(raw) == raw
    assert untyped.parse_input(raw) is not raw


def test_action_name_of_a_function_or_a_name() -> None:
    assert action_name("escalate") == "escalate"
    assert action_name(async_record) == "async_record"
