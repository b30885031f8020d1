"""Domain.validate() on bulk actions and bulk triggers: each rule's whole located message."""

from __future__ import annotations

from typing import Any

import pytest

from ember.registry import ActionContext, Domain, Problem, RegistryError, Resource
from examples.helpdesk.models import Ticket


async def escalate_many(records: list[Ticket], ctx: ActionContext) -> None:
    """A bulk action."""


async def note_many(records: list[Ticket], ctx: ActionContext) -> None:
    """A bulk on_error."""


async def note_one(ticket: Ticket, ctx: ActionContext) -> None:
    """A record action."""


async def lonely(records: list[Ticket]) -> None:
    """A bulk action missing its ctx."""


def desk() -> tuple[Domain, Resource]:
    """Domain ``desk``: the bulk actions ``escalate_many``, ``note_many``, ``lonely`` and
    the record action ``note_one``."""
    domain = Domain("desk")
    tickets = domain.resource(Ticket)
    for bulk in (escalate_many, note_many, lonely):
        tickets.action(bulk=True)(bulk)
    tickets.action(note_one)
    return domain, tickets


def only(domain: Domain) -> Problem:
    """The single problem validate() raises."""
    with pytest.raises(RegistryError) as raised:
        domain.validate()
    assert len(raised.value.problems) == 1, raised.value.problems
    return raised.value.problems[0]


def test_a_bulk_trigger_with_a_bulk_on_error_is_valid() -> None:
    domain, tickets = desk()
    tickets.trigger("t", action=escalate_many, on_error=note_many, chunk_size=500)
    assert domain.problems() == []
    assert tickets.actions["escalate_many"].kind == "bulk"


def test_a_bulk_action_needs_chunk_size() -> None:
    domain, tickets = desk()
    tickets.trigger("t", action=escalate_many)
    assert only(domain) == Problem(
        "desk.tickets.t.chunk_size",
        "chunk_size on a trigger whose action 'escalate_many' is a bulk action",
        "chunk_size=None",
        "pass chunk_size=<records per call>, e.g. chunk_size=500, or declare escalate_many "
        "without bulk=True to run it once per record",
    )


@pytest.mark.parametrize(
    ("action", "on_error", "expected", "found", "fix"),
    [
        (
            escalate_many,
            note_one,
            "a bulk on_error (records, ctx), as the trigger's action 'escalate_many' is bulk",
            "the record action 'note_one'",
            "declare note_one with @tickets.action(bulk=True) taking (records, ctx)",
        ),
        (
            note_one,
            note_many,
            "a record on_error (record, ctx), as the trigger's action 'note_one' is",
            "the bulk action 'note_many'",
            "declare note_many without bulk=True, or make note_one a bulk action",
        ),
    ],
)
def test_on_error_is_bulk_exactly_when_the_action_is(
    action: Any, on_error: Any, expected: str, found: str, fix: str
) -> None:
    domain, tickets = desk()
    tickets.trigger("t", action=action, on_error=on_error, chunk_size=10)
    assert only(domain) == Problem("desk.tickets.t.on_error", expected, found, fix)


def test_a_bulk_trigger_takes_no_read_metadata() -> None:
    domain, tickets = desk()
    tickets.trigger("t", action=escalate_many, chunk_size=10, read_metadata=lambda t: {})
    assert only(domain) == Problem(
        "desk.tickets.t.read_metadata",
        "no read_metadata on a bulk trigger (one ctx serves the whole chunk)",
        "a read_metadata callable",
        "remove read_metadata and read what you need from the records in the action",
    )


def test_a_bulk_action_takes_records_and_ctx() -> None:
    domain, tickets = desk()
    tickets.trigger("t", action=lonely, chunk_size=10)
    assert only(domain) == Problem(
        "desk.tickets.t.action",
        "a bulk action (records, ctx)",
        "'lonely' taking (records)",
        "give lonely the parameters (records, ctx)",
    )


def test_a_scheduled_action_cannot_run_a_bulk_action() -> None:
    domain, tickets = desk()
    tickets.schedule("s", cron="@daily", action=escalate_many)
    assert only(domain) == Problem(
        "desk.tickets.s.action",
        "a generic action (ctx)",
        "the bulk action 'escalate_many' taking (records, ctx)",
        "run escalate_many from a trigger with chunk_size; a scheduled action runs a "
        "generic action (ctx)",
    )
