"""Sealed actor references: the memo form of an actor, optionally HMAC-signed."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from registry.actors import ActorNotFound, ActorRef


def _signature(ref: ActorRef, key: bytes) -> str:
    canonical = json.dumps(ref, sort_keys=True, separators=(",", ":"), default=str)
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


def seal(ref: ActorRef, key: bytes | None) -> dict[str, Any]:
    """``{"ref": ref}``, plus ``"sig"`` when a signing key is configured."""
    sealed: dict[str, Any] = {"ref": ref}
    if key is not None:
        sealed["sig"] = _signature(ref, key)
    return sealed


def unseal(sealed: Any, key: bytes | None) -> ActorRef:
    """The reference inside ``sealed``; with a key, its signature must match.

    Raises:
        ActorNotFound: the value is not a sealed reference, or its signature
            is missing or wrong (a tampered memo).
    """
    if not isinstance(sealed, dict) or not isinstance(sealed.get("ref"), dict):
        raise ActorNotFound(f"actor reference {sealed!r} is malformed: expected {{'ref': {{...}}}}")
    ref: ActorRef = sealed["ref"]
    if key is not None:
        signature = sealed.get("sig")
        if not isinstance(signature, str) or not hmac.compare_digest(
            signature, _signature(ref, key)
        ):
            raise ActorNotFound(f"actor reference {ref!r} has a missing or invalid signature")
    return ref
