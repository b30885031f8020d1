"""The Domain: names, look-ups and the helpdesk example as a whole registry."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ember.registry import ActionContext, Domain, Problem, RegistryError
from examples.helpdesk.app import build_helpdesk


class Base(DeclarativeBase):
    """Declarative base of this module."""


class Note(Base):
    """The resource look-ups are checked on."""

    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)


async def archive(note: Note, ctx: ActionContext) -> None:
    """A record action."""


async def purge(ctx: ActionContext) -> None:
    """A generic action."""


@pytest.mark.parametrize("name", ["helpdesk", "Help_desk-2", "x"])
def test_domain_names_are_short_identifiers(name: str) -> None:
    assert Domain(name).name == name


@pytest.mark.parametrize(
    ("name", "fix"),
    [
        ("", "choose a short identifier"),
        ("has space", "choose a short identifier, e.g. 'has_space'"),
        ("a/b", "choose a short identifier, e.g. 'a_b'"),
        ("a.b", "choose a short identifier, e.g. 'a_b'"),
        ("it's", "choose a short identifier, e.g. 'it_s'"),
        ("café", "choose a short identifier, e.g. 'caf'"),
    ],
)
def test_other_domain_names_are_a_located_registry_error(name: str, fix: str) -> None:
    with pytest.raises(RegistryError) as raised:
        Domain(name)
    expected = "a domain name of letters, digits, '_' or '-'"
    assert raised.value.problems == [Problem(f"Domain({name!r})", expected, repr(name), fix)]
    assert isinstance(raised.value, ValueError)  # what Domain raised before


def notes_domain() -> Domain:
    domain = Domain("wiki")
    notes = domain.resource(Note)
    notes.action(archive)
    notes.action(purge)
    notes.trigger("archive_old", action=archive)
    notes.trigger("archive_now", action=archive, scheduler_cron=None)
    notes.schedule("purge", cron="@weekly", action=purge)
    return domain


def test_look_ups_find_declarations() -> None:
    domain = notes_domain()
    assert domain.get_resource("notes").model is Note
    assert domain.get_trigger("notes", "archive_old").name == "archive_old"
    assert domain.get_schedule("notes", "purge").options.cron == "@weekly"
    assert [t.name for t in domain.triggers] == ["archive_old", "archive_now"]
    assert [s.name for s in domain.schedules] == ["purge"]


def test_look_ups_of_unknown_names_list_the_known_ones() -> None:
    domain = notes_domain()
    with pytest.raises(KeyError, match=r"expected one of \(notes\) in domain 'wiki', found 'x'"):
        domain.get_resource("x")
    with pytest.raises(
        KeyError, match=r"expected one of \(archive_now, archive_old\) on 'notes', found 'x'"
    ):
        domain.get_trigger("notes", "x")
    with pytest.raises(KeyError, match=r"schedule: expected one of \(purge\) on 'notes'"):
        domain.get_schedule("notes", "archive_old")


def test_shared_context_is_copied() -> None:
    shared = {"region": "eu"}
    domain = Domain("wiki", shared_context=shared, default_actor="system")
    shared["region"] = "us"
    assert domain.shared_context == {"region": "eu"}
    assert domain.default_actor == "system"


def test_the_helpdesk_example_is_a_valid_registry() -> None:
    domain = build_helpdesk("helpdesk_unit")
    assert domain.queues == {"tickets", "digests"}
    domain.validate(queues=["tickets", "digests"])


def test_the_helpdesk_example_needs_its_digest_queue() -> None:
    domain = build_helpdesk("helpdesk_unit")
    with pytest.raises(RegistryError) as raised:
        domain.validate(queues=["tickets"])
    assert raised.value.problems == [
        Problem(
            "helpdesk_unit.tickets.daily_digest.queue",
            "a queue the worker runs (tickets)",
            "'digests'",
            "add digests=<concurrency> to EMBER_QUEUES (--queues) or change the queue; "
            "or, when other workers run it, set EMBER_REQUIRE_ALL_QUEUES=false",
        )
    ]


def test_largest_chunk_is_per_queue_and_none_without_chunks() -> None:
    domain = Domain("chunks")
    notes = domain.resource(Note)
    notes.action(archive)
    notes.trigger("small", action=archive, queue="bulk", chunk_size=100)
    notes.trigger("large", action=archive, queue="bulk", chunk_size=500, scheduler_queue="scans")
    notes.trigger("single", action=archive, queue="default")
    assert domain.largest_chunk("bulk") == 500
    assert domain.largest_chunk("default") is None
    assert domain.largest_chunk("scans") is None  # scans run there, chunks do not
