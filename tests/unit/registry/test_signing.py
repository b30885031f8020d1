"""Sealed actor references: HMAC-signed for one scope when a key is configured."""

from __future__ import annotations

import pytest

from registry import ActorNotFound
from registry.signing import ANY, Scope, seal, unseal

REF = {"type": "users", "id": 7}
RUN = Scope.of("shop.tickets.escalate", "acme", "42")


def test_without_a_key_the_reference_travels_unsigned() -> None:
    assert seal(REF, None, RUN) == {"ref": REF}
    assert unseal({"ref": REF}, None, RUN) == REF


def test_with_a_key_the_reference_round_trips() -> None:
    sealed = seal(REF, b"key", RUN)
    assert set(sealed) == {"ref", "sig"}
    assert unseal(sealed, b"key", RUN) == REF


def test_a_tampered_reference_is_rejected() -> None:
    sealed = seal(REF, b"key", RUN)
    tampered = {"ref": {"type": "users", "id": 1}, "sig": sealed["sig"]}
    with pytest.raises(ActorNotFound, match="missing or invalid signature"):
        unseal(tampered, b"key", RUN)


def test_an_unsigned_or_differently_signed_reference_is_rejected_when_a_key_is_set() -> None:
    with pytest.raises(ActorNotFound, match="missing or invalid signature"):
        unseal(seal(REF, None, RUN), b"key", RUN)
    with pytest.raises(ActorNotFound, match="missing or invalid signature"):
        unseal(seal(REF, b"other", RUN), b"key", RUN)


@pytest.mark.parametrize(
    "elsewhere",
    [
        Scope.of("shop.tickets.escalate", "acme", "43"),
        Scope.of("shop.tickets.escalate", "globex", "42"),
        Scope.of("shop.tickets.close", "acme", "42"),
        Scope.of("other.tickets.escalate", "acme", "42"),
        Scope.of("shop.tickets.escalate", None, "42"),
    ],
)
def test_a_reference_signed_for_one_run_is_refused_in_another(elsewhere: Scope) -> None:
    with pytest.raises(ActorNotFound, match="invalid signature for"):
        unseal(seal(REF, b"key", RUN), b"key", elsewhere)


def test_a_scan_s_reference_holds_for_every_record_of_its_trigger_and_tenant_only() -> None:
    every_acme_ticket = seal(REF, b"key", Scope.of("shop.tickets.escalate", "acme"))
    every_ticket = seal(REF, b"key", Scope.of("shop.tickets.escalate", ANY))
    assert unseal(every_acme_ticket, b"key", RUN) == REF
    assert unseal(every_ticket, b"key", Scope.of("shop.tickets.escalate", "globex", "1")) == REF
    with pytest.raises(ActorNotFound):
        unseal(every_acme_ticket, b"key", Scope.of("shop.tickets.escalate", "globex", "1"))
    with pytest.raises(ActorNotFound):
        unseal(every_ticket, b"key", Scope.of("shop.tickets.close", "acme", "42"))


@pytest.mark.parametrize("sealed", ["users:7", {"ref": "users:7"}, None, {"sig": "x"}])
def test_a_malformed_value_is_rejected(sealed: object) -> None:
    with pytest.raises(ActorNotFound, match="is malformed"):
        unseal(sealed, None, RUN)
