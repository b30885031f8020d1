"""Sealed actor references: HMAC-signed when a key is configured, tampering rejected."""

from __future__ import annotations

import pytest

from registry import ActorNotFound
from registry.signing import seal, unseal

REF = {"type": "users", "id": 7}


def test_without_a_key_the_reference_travels_unsigned() -> None:
    assert seal(REF, None) == {"ref": REF}
    assert unseal({"ref": REF}, None) == REF


def test_with_a_key_the_reference_round_trips() -> None:
    sealed = seal(REF, b"key")
    assert set(sealed) == {"ref", "sig"}
    assert unseal(sealed, b"key") == REF


def test_a_tampered_reference_is_rejected() -> None:
    sealed = seal(REF, b"key")
    tampered = {"ref": {"type": "users", "id": 1}, "sig": sealed["sig"]}
    with pytest.raises(ActorNotFound, match="missing or invalid signature"):
        unseal(tampered, b"key")


def test_an_unsigned_or_differently_signed_reference_is_rejected_when_a_key_is_set() -> None:
    with pytest.raises(ActorNotFound, match="missing or invalid signature"):
        unseal(seal(REF, None), b"key")
    with pytest.raises(ActorNotFound, match="missing or invalid signature"):
        unseal(seal(REF, b"other"), b"key")


@pytest.mark.parametrize("sealed", ["users:7", {"ref": "users:7"}, None, {"sig": "x"}])
def test_a_malformed_value_is_rejected(sealed: object) -> None:
    with pytest.raises(ActorNotFound, match="is malformed"):
        unseal(sealed, None)
