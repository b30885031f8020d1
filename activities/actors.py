"""Actors on the way into a run (sealed into the memo) and out (looked up in the activity)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from ember.registry import ActorNotFound, ScheduledAction, Trigger
from ember.registry.actors import store_actor
from ember.registry.signing import Scope, Signer


def actor_memo(
    declaration: Trigger | ScheduledAction, actor: Any, signer: Signer, scope: Scope
) -> dict[str, Any] | None:
    """The memo value for ``actor``, signed for ``scope`` (None: the default actor applies)."""
    ref = store_actor(declaration.actor_persister, declaration.path, actor)
    return None if ref is None else signer.seal(ref, scope)


async def resolve_actor(
    declaration: Trigger | ScheduledAction,
    sealed: dict[str, Any] | None,
    signer: Signer,
    scope: Scope,
    session: AsyncSession,
    *,
    started_at: float | None = None,
) -> Any:
    """The actor of a run of ``scope`` (started at ``started_at``): looked up from its
    reference with the declaration's persister, else (no reference, or a lookup that
    returns None) the declaration's default actor.

    Raises:
        ActorNotFound: the reference is malformed, tampered with, signed for
            another run or too long before this one started, or names nobody.
    """
    if sealed is None:
        return declaration.default_actor
    ref = signer.unseal(sealed, scope, started_at=started_at)
    persister = declaration.actor_persister
    if persister is None:
        raise ActorNotFound(
            f"actor reference {ref!r} given but {declaration.path} has no actor_persister"
        )
    actor = await persister.lookup(ref, session)
    return declaration.default_actor if actor is None else actor
