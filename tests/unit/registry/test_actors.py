"""Actors as small references: RowActorPersister.store (lookup needs a database)."""

from __future__ import annotations

import uuid
from typing import Any, cast

import pytest
from sqlalchemy import String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, Mapped, make_transient_to_detached, mapped_column

from ember.registry import ActorNotFound, ActorPersister, RowActorPersister
from ember.registry.actors import store_actor


class Base(DeclarativeBase):
    """Declarative base of this module."""


class Agent(Base):
    """An integer-keyed actor."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


class Robot(Base):
    """A UUID-keyed actor."""

    __tablename__ = "robots"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)


class Team(Base):
    """A text-keyed actor."""

    __tablename__ = "teams"

    slug: Mapped[str] = mapped_column(String(20), primary_key=True)


class Customer(Base):
    """A model the persister does not know."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)


def saved(row: Any) -> Any:
    """``row`` as if loaded from the database: it has an identity."""
    make_transient_to_detached(row)
    return row


PERSISTER = RowActorPersister(Agent, Robot, Team)
NO_SESSION = cast(AsyncSession, None)  # the branches below fail before using it


def test_store_gives_the_table_and_primary_key() -> None:
    assert PERSISTER.store(saved(Agent(id=7, name="ada"))) == {"type": "agents", "id": 7}
    assert PERSISTER.store(saved(Team(slug="ops"))) == {"type": "teams", "id": "ops"}


def test_store_gives_uuid_keys_as_text() -> None:
    key = uuid.UUID("12345678-1234-5678-1234-567812345678")
    ref = PERSISTER.store(saved(Robot(id=key)))
    assert ref == {"type": "robots", "id": "12345678-1234-5678-1234-567812345678"}


def test_store_rejects_a_row_of_an_unknown_model() -> None:
    with pytest.raises(TypeError) as raised:
        PERSISTER.store(saved(Customer(id=1)))
    assert str(raised.value) == (
        "actor: expected an instance of one of (agents, robots, teams), found Customer; "
        "fix: pass such a row, or give the resource an actor_persister that knows it"
    )


def test_store_rejects_something_that_is_not_a_row() -> None:
    with pytest.raises(TypeError, match=r"expected an instance of one of .*, found str"):
        PERSISTER.store("ada")


def test_store_rejects_an_unsaved_row() -> None:
    with pytest.raises(ValueError) as raised:
        PERSISTER.store(Agent(id=7, name="ada"))  # never flushed: no identity
    assert str(raised.value) == (
        "actor: expected a agents row with a primary key, found an unsaved one; "
        "fix: flush the actor before using it"
    )


def test_row_actor_persister_is_an_actor_persister() -> None:
    assert isinstance(PERSISTER, ActorPersister)


def test_store_actor_needs_a_persister_only_for_an_actor() -> None:
    assert store_actor(None, "desk.tickets.t", None) is None
    assert store_actor(PERSISTER, "desk.tickets.t", saved(Agent(id=1, name="x"))) == {
        "type": "agents",
        "id": 1,
    }
    with pytest.raises(
        TypeError, match=r"expected desk\.tickets\.t or its resource to have an actor_persister"
    ):
        store_actor(None, "desk.tickets.t", saved(Agent(id=1, name="x")))


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ({"type": "customers", "id": 1}, "names no known actor type"),
        ({"id": 1}, "names no known actor type"),
        ({"type": "agents"}, "names no known actor type"),
        ({"type": "robots", "id": "not-a-uuid"}, "has a malformed id"),
    ],
)
async def test_lookup_rejects_references_before_touching_the_database(
    ref: dict[str, Any], message: str
) -> None:
    with pytest.raises(ActorNotFound, match=message):
        await PERSISTER.lookup(ref, NO_SESSION)
