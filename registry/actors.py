"""Actors travel as small JSON references, never whole."""

from __future__ import annotations

import uuid
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from ember.registry.errors import EmberError, InvalidArgument, WrongType

ActorRef = dict[str, Any]


class ActorNotFound(EmberError, LookupError):
    """An actor reference could not be turned back into an actor."""


@runtime_checkable
class ActorPersister(Protocol):
    """Turns an actor into a small JSON reference and back."""

    def store(self, actor: Any) -> ActorRef:
        """A JSON-serialisable reference to ``actor`` (no secrets: it goes in the memo)."""
        ...

    async def lookup(self, ref: ActorRef, session: AsyncSession) -> Any:
        """The actor ``ref`` names; raise :class:`ActorNotFound` if there is none."""
        ...


class RowActorPersister:
    """Stores a SQLAlchemy row as ``{"type": <table>, "id": <pk>}`` and loads it back.

    Args:
        *models: the mapped classes actors may be instances of.
    """

    def __init__(self, *models: type[Any]) -> None:
        self.models = {getattr(m, "__tablename__", m.__name__): m for m in models}

    def store(self, actor: Any) -> ActorRef:
        """The reference of a row of one of the known models."""
        type_name = getattr(type(actor), "__tablename__", type(actor).__name__)
        if type_name not in self.models:
            known = ", ".join(sorted(self.models)) or "none"
            raise WrongType(
                f"actor: expected an instance of one of ({known}), found {type(actor).__name__}; "
                "fix: pass such a row, or give the resource an actor_persister that knows it"
            )
        (pk,) = inspect(actor).identity or (None,)
        if pk is None:
            raise InvalidArgument(
                f"actor: expected a {type_name} row with a primary key, found an unsaved one; "
                "fix: flush the actor before using it"
            )
        return {"type": type_name, "id": pk if isinstance(pk, int | str) else str(pk)}

    async def lookup(self, ref: ActorRef, session: AsyncSession) -> Any:
        """Load the row ``ref`` names, or raise :class:`ActorNotFound`."""
        model = self.models.get(str(ref.get("type")))
        if model is None or "id" not in ref:
            raise ActorNotFound(f"actor reference {ref!r} names no known actor type")
        (column,) = inspect(model).primary_key
        raw = ref["id"]
        try:
            pk = uuid.UUID(str(raw)) if column.type.python_type is uuid.UUID else raw
        except ValueError as error:
            raise ActorNotFound(f"actor reference {ref!r} has a malformed id") from error
        actor = await session.get(model, pk)
        if actor is None:
            raise ActorNotFound(f"actor reference {ref!r} names no existing row")
        return actor


def store_actor(persister: ActorPersister | None, owner: str, actor: Any) -> ActorRef | None:
    """The reference of ``actor`` for runs of ``owner`` (a declaration's path; None for no
    actor)."""
    if actor is None:
        return None
    if persister is None:
        raise WrongType(
            f"actor: expected {owner} or its resource to have an actor_persister, found none; "
            "fix: pass actor_persister=RowActorPersister(User) to domain.resource(...) or "
            "to the trigger"
        )
    return persister.store(actor)
