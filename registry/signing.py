"""Sealed actor references: the memo form of an actor, optionally HMAC-signed for one scope."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from registry import naming
from registry.actors import ActorNotFound, ActorRef

ANY = "*"


@dataclass(frozen=True)
class Scope:
    """What a signed actor reference may act on: one declaration, tenant and record.

    ``ANY`` widens a part: a scan's actor is signed for every record of its
    trigger, a single run's actor for its record only, so a signed reference
    copied into another run's memo is refused.
    """

    declaration: str
    tenant: str = ANY
    record: str = ANY

    @classmethod
    def of(cls, path: str, tenant: str | None = ANY, record: str = ANY) -> Scope:
        """The scope of the declaration at ``path``; ``tenant=None`` means untenanted."""
        return cls(path, naming.tenant_part(tenant), record)

    def accepting(self) -> tuple[Scope, ...]:
        """The scopes whose signatures hold for a run of this scope (it and its wider ones)."""
        wider = (Scope(self.declaration, self.tenant), Scope(self.declaration))
        return (self, *(scope for scope in wider if scope != self))


def _signature(ref: ActorRef, scope: Scope, key: bytes) -> str:
    signed = {"ref": ref, "scope": [scope.declaration, scope.tenant, scope.record]}
    canonical = json.dumps(signed, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


def seal(ref: ActorRef, key: bytes | None, scope: Scope) -> dict[str, Any]:
    """``{"ref": ref}``, plus ``"sig"`` (for ``scope``) when a signing key is configured."""
    sealed: dict[str, Any] = {"ref": ref}
    if key is not None:
        sealed["sig"] = _signature(ref, scope, key)
    return sealed


def unseal(sealed: Any, key: bytes | None, scope: Scope) -> ActorRef:
    """The reference inside ``sealed``; with a key, it must be signed for ``scope`` or wider.

    Raises:
        ActorNotFound: the value is not a sealed reference, or its signature is
            missing, wrong (a tampered memo) or for another scope (a copied one).
    """
    if not isinstance(sealed, dict) or not isinstance(sealed.get("ref"), dict):
        raise ActorNotFound(f"actor reference {sealed!r} is malformed: expected {{'ref': {{...}}}}")
    ref: ActorRef = sealed["ref"]
    if key is not None:
        signature = sealed.get("sig")
        if not isinstance(signature, str) or not any(
            hmac.compare_digest(signature, _signature(ref, accepted, key))
            for accepted in scope.accepting()
        ):
            raise ActorNotFound(
                f"actor reference {ref!r} has a missing or invalid signature for "
                f"{scope.declaration} (tenant {scope.tenant}, record {scope.record})"
            )
    return ref
