"""Actors on the way into a run (sealed into the memo) and out (looked up in the activity)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from registry import ActorNotFound, Resource
from registry.actors import store_actor
from registry.signing import Scope, seal, unseal


def actor_memo(
    resource: Resource, actor: Any, signing_key: bytes | None, scope: Scope
) -> dict[str, Any] | None:
    """The memo value for ``actor``, signed for ``scope`` (None: the default actor applies)."""
    ref = store_actor(resource.actor_persister, resource.name, actor)
    return None if ref is None else seal(ref, signing_key, scope)


async def resolve_actor(
    resource: Resource,
    sealed: dict[str, Any] | None,
    signing_key: bytes | None,
    scope: Scope,
    session: AsyncSession,
) -> Any:
    """The actor of a run of ``scope``: looked up from its reference, else the default actor.

    Raises:
        ActorNotFound: the reference is malformed, tampered with, signed for
            another run, or names nobody.
    """
    if sealed is None:
        return resource.domain.default_actor
    ref = unseal(sealed, signing_key, scope)
    if resource.actor_persister is None:
        raise ActorNotFound(
            f"actor reference {ref!r} given but {resource.name} has no actor_persister"
        )
    return await resource.actor_persister.lookup(ref, session)
