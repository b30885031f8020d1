"""Sealed actor references: HMAC-signed for one scope and issue time when a key is configured."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from ember.registry import ActorNotFound
from ember.registry.signing import ANY, Scope, Signer

REF = {"type": "users", "id": 7}
TRIGGER = "ember/shop/tickets/escalate"
RUN = Scope(TRIGGER, "acme", "42")
SIGNER = Signer(b"key")


def test_without_a_key_the_reference_travels_unsigned() -> None:
    assert Signer().seal(REF, RUN) == {"ref": REF}
    assert Signer().unseal({"ref": REF}, RUN) == REF


def test_with_a_key_the_reference_round_trips_with_its_issue_time() -> None:
    before = int(time.time())
    sealed = SIGNER.seal(REF, RUN)
    assert set(sealed) == {"ref", "iat", "sig"}
    assert before <= sealed["iat"] <= time.time()
    assert SIGNER.unseal(sealed, RUN) == REF


@pytest.mark.parametrize(
    "change", [{"ref": {"type": "users", "id": 1}}, {"iat": int(time.time()) + 3600}, {"iat": True}]
)
def test_a_tampered_reference_or_issue_time_is_rejected(change: dict[str, object]) -> None:
    with pytest.raises(ActorNotFound, match="missing or invalid signature"):
        SIGNER.unseal({**SIGNER.seal(REF, RUN), **change}, RUN)


def test_an_unsigned_or_differently_signed_reference_is_rejected_when_a_key_is_set() -> None:
    with pytest.raises(ActorNotFound, match="missing or invalid signature"):
        SIGNER.unseal(Signer().seal(REF, RUN), RUN)
    with pytest.raises(ActorNotFound, match="missing or invalid signature"):
        SIGNER.unseal(Signer(b"other").seal(REF, RUN), RUN)


@pytest.mark.parametrize(
    "elsewhere",
    [
        Scope(TRIGGER, "acme", "43"),
        Scope(TRIGGER, "globex", "42"),
        Scope("ember/shop/tickets/close", "acme", "42"),
        Scope("ember/other/tickets/escalate", "acme", "42"),
        Scope("ember@staging/shop/tickets/escalate", "acme", "42"),
        Scope(TRIGGER, None, "42"),
        Scope(TRIGGER, "acme", ("42", "43")),
    ],
)
def test_a_reference_signed_for_one_run_is_refused_in_another(elsewhere: Scope) -> None:
    with pytest.raises(ActorNotFound, match="invalid signature for"):
        SIGNER.unseal(SIGNER.seal(REF, RUN), elsewhere)


def test_a_record_named_star_is_a_record_not_every_record() -> None:
    star = SIGNER.seal(REF, Scope(TRIGGER, None, "*"))
    assert SIGNER.unseal(star, Scope(TRIGGER, None, "*")) == REF
    for other in (Scope(TRIGGER, None, "secret"), Scope(TRIGGER, None, ANY)):
        with pytest.raises(ActorNotFound, match="invalid signature for"):
            SIGNER.unseal(star, other)


def test_a_tenant_named_star_is_a_tenant_not_every_tenant() -> None:
    star_tenant_scan = SIGNER.seal(REF, Scope(TRIGGER, "*", ANY))
    assert SIGNER.unseal(star_tenant_scan, Scope(TRIGGER, "*", ANY)) == REF
    with pytest.raises(ActorNotFound, match="invalid signature for"):
        SIGNER.unseal(star_tenant_scan, Scope(TRIGGER, "acme", ANY))


def test_no_tenant_is_not_a_tenant_named_like_its_id_part() -> None:
    with pytest.raises(ActorNotFound, match="invalid signature for"):
        SIGNER.unseal(SIGNER.seal(REF, Scope(TRIGGER, None, "1")), Scope(TRIGGER, "-", "1"))


def test_a_drain_over_every_tenant_holds_for_each_tenant_s_scan_pages_only() -> None:
    every_tenant = SIGNER.seal(REF, Scope(TRIGGER, ANY, ANY))
    assert SIGNER.unseal(every_tenant, Scope(TRIGGER, "globex", ANY)) == REF
    assert SIGNER.unseal(every_tenant, Scope(TRIGGER, None, ANY)) == REF
    for run in (RUN, Scope(TRIGGER, "acme", ("41", "42")), Scope("ember/shop/tickets/close")):
        with pytest.raises(ActorNotFound, match="invalid signature for"):
            SIGNER.unseal(every_tenant, run)


def test_a_chunk_s_reference_holds_for_exactly_its_records() -> None:
    chunk = SIGNER.seal(REF, Scope(TRIGGER, "acme", ("41", "42")))
    assert SIGNER.unseal(chunk, Scope(TRIGGER, "acme", ("41", "42"))) == REF
    for other in (RUN, Scope(TRIGGER, "acme", ("41", "42", "43")), Scope(TRIGGER, "acme", ANY)):
        with pytest.raises(ActorNotFound, match="invalid signature for"):
            SIGNER.unseal(chunk, other)


def test_a_reference_older_than_the_maximum_age_when_its_run_started_is_refused() -> None:
    signer = Signer(b"key", max_age=timedelta(hours=1))
    issued = time.time() - 2 * 3600
    stale = signer.seal(REF, RUN, issued_at=issued)
    with pytest.raises(
        ActorNotFound, match=r"signed 720[01]s before its run started.*ACTOR_MAX_AGE"
    ):
        signer.unseal(stale, RUN)
    with pytest.raises(ActorNotFound, match="EMBER_ACTOR_MAX_AGE"):
        signer.unseal(stale, RUN, started_at=issued + 3601)


def test_a_run_that_started_in_time_keeps_its_actor_however_long_it_runs() -> None:
    signer = Signer(b"key", max_age=timedelta(hours=1))
    issued = time.time() - 30 * 24 * 3600  # a month of snoozes and retries since
    sealed = signer.seal(REF, RUN, issued_at=issued)
    assert signer.unseal(sealed, RUN, started_at=issued + 5) == REF


@pytest.mark.parametrize("sealed", ["users:7", {"ref": "users:7"}, None, {"sig": "x"}])
def test_a_malformed_value_is_rejected(sealed: object) -> None:
    with pytest.raises(ActorNotFound, match="is malformed"):
        Signer().unseal(sealed, RUN)
