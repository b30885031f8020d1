"""Sealed actor references: the memo form of an actor, HMAC-signed for one scope and time."""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from ember.registry.actors import ActorNotFound, ActorRef

if TYPE_CHECKING:
    from ember.registry.declarations import ScheduledAction, Trigger

DEFAULT_MAX_AGE = timedelta(hours=1)
SIGNED_FORMAT = 2  # 1: scopes as strings, where a tenant or record named "*" was a wildcard


class Wildcard(enum.Enum):
    """The value of a scope part that means "every tenant" or "every record"."""

    ANY = "any"


ANY = Wildcard.ANY
Tenant = str | None | Wildcard
Records = str | tuple[str, ...] | Wildcard


def _signed_part(part: Tenant | Records) -> Any:
    """A scope part as signed: a key is a string, a chunk a list, no tenant null, ANY an object.

    Each kind has its own JSON type, so no tenant or record key can stand for another kind.
    """
    if part is ANY:
        return {"any": True}
    return list(part) if isinstance(part, tuple) else part


def _shown_part(part: Tenant | Records) -> str:
    if part is ANY:
        return "any"
    if isinstance(part, tuple):
        return f"a chunk of {len(part)}"
    return "none" if part is None else repr(part)


@dataclass(frozen=True)
class Scope:
    """What a signed actor reference may act on.

    ``declaration`` is the declaration's schedule id (task queue prefix, domain,
    resource, name). ``tenant`` is a tenant, None (no tenant) or ANY (a drain
    over every tenant). ``record`` is one record key, the keys of one chunk, or
    ANY (a scan, whose pages sign each run they start for its own records).
    """

    declaration: str
    tenant: Tenant = ANY
    record: Records = ANY

    @classmethod
    def of(
        cls,
        declaration: Trigger | ScheduledAction,
        prefix: str,
        tenant: Tenant = ANY,
        record: Records = ANY,
    ) -> Scope:
        """The scope of ``declaration`` under task queue prefix ``prefix``."""
        return cls(declaration.schedule_id_for(prefix), tenant, record)

    def accepting(self) -> tuple[Scope, ...]:
        """The scopes whose signatures hold here: this one, and its every-tenant form."""
        if self.tenant is ANY:
            return (self,)
        return (self, Scope(self.declaration, ANY, self.record))

    def __str__(self) -> str:
        tenant, record = _shown_part(self.tenant), _shown_part(self.record)
        return f"{self.declaration} (tenant {tenant}, record {record})"


@dataclass(frozen=True)
class Signer:
    """Seals actor references for a scope and checks them; without a key they travel unsigned.

    A signed reference carries its issue time (``iat``, signed with it); one
    signed more than ``max_age`` before its run started is refused.
    """

    key: bytes | None = None
    max_age: timedelta = DEFAULT_MAX_AGE

    def seal(
        self, ref: ActorRef, scope: Scope, *, issued_at: float | None = None
    ) -> dict[str, Any]:
        """``{"ref": ref}``, plus ``"iat"`` and ``"sig"`` (for ``scope``) with a key."""
        sealed: dict[str, Any] = {"ref": ref}
        if self.key is not None:
            iat = int(time.time() if issued_at is None else issued_at)
            sealed.update(iat=iat, sig=self._signature(ref, scope, iat))
        return sealed

    def unseal(self, sealed: Any, scope: Scope, *, started_at: float | None = None) -> ActorRef:
        """The reference inside ``sealed``; with a key it must be signed for ``scope`` and fresh.

        ``started_at`` is when the run started (its age is counted up to then;
        now when None), so a run keeps its actor through long snoozes and retries.

        Raises:
            ActorNotFound: the value is not a sealed reference; or its signature
                is missing, wrong (a tampered memo) or for another scope (a copied
                one); or it was signed more than ``max_age`` before its run started.
        """
        if not isinstance(sealed, dict) or not isinstance(sealed.get("ref"), dict):
            raise ActorNotFound(
                f"actor reference {sealed!r} is malformed: expected {{'ref': {{...}}}}"
            )
        ref: ActorRef = sealed["ref"]
        if self.key is None:
            return ref
        iat, signature = sealed.get("iat"), sealed.get("sig")
        if (
            type(iat) is not int
            or not isinstance(signature, str)
            or not any(
                hmac.compare_digest(signature, self._signature(ref, accepted, iat))
                for accepted in scope.accepting()
            )
        ):
            raise ActorNotFound(
                f"actor reference {ref!r} has a missing or invalid signature for {scope}"
            )
        age = (time.time() if started_at is None else started_at) - iat
        if age > self.max_age.total_seconds():
            raise ActorNotFound(
                f"actor reference {ref!r} was signed {age:.0f}s before its run started, "
                f"expected at most EMBER_ACTOR_MAX_AGE ({self.max_age.total_seconds():.0f}s): "
                "a stale or copied memo; fix: start a new run to act as this actor"
            )
        return ref

    def _signature(self, ref: ActorRef, scope: Scope, iat: int) -> str:
        assert self.key is not None
        signed = {
            "v": SIGNED_FORMAT,
            "ref": ref,
            "iat": iat,
            "scope": [scope.declaration, _signed_part(scope.tenant), _signed_part(scope.record)],
        }
        canonical = json.dumps(signed, sort_keys=True, separators=(",", ":"), default=str)
        return hmac.new(self.key, canonical.encode(), hashlib.sha256).hexdigest()
