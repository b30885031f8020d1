"""Names, defaults, time expressions, control flow, actors and signing of the registry."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy.dialects import postgresql

from registry import (
    ActionContext,
    ActorNotFound,
    Backoff,
    Cancel,
    Discard,
    Domain,
    RowActorPersister,
    Snooze,
    TriggerOptions,
    ago,
    checks,
    from_now,
    naming,
)
from registry.actions import positional_arity
from registry.signing import seal, unseal
from tests.unit.registry.models import Order


def test_names_of_ids_and_queues() -> None:
    assert naming.schedule_id("d", "orders", "ship") == "ember/d/orders/ship"
    assert naming.record_workflow_id("d", "orders", "ship", None, "7") == "ember/d/orders/ship/-/7"
    assert naming.record_workflow_id("d", "orders", "ship", "acme", "7").endswith("/acme/7")
    assert naming.task_queue("d", "orders") == "d.orders"
    assert naming.task_queue("d", "orders", "staging") == "staging.d.orders"
    assert naming.SEARCH_ATTRIBUTES == (
        "EmberTrigger",
        "EmberResource",
        "EmberTenant",
        "EmberRecord",
        "EmberOutcome",
    )


def test_trigger_defaults_are_the_documented_ones() -> None:
    options = TriggerOptions(action="ship")
    assert options.scheduler_cron == "* * * * *"
    assert (options.max_attempts, options.max_scheduler_attempts) == (1, 1)
    assert options.backoff == Backoff(
        initial=timedelta(seconds=15), coefficient=2.0, maximum=timedelta(hours=1)
    )
    assert options.timeout == timedelta(minutes=5)
    assert options.lock_for_update and not options.trigger_once
    assert (options.stream_batch_size, options.record_limit, options.chunk_size) == (
        500,
        None,
        None,
    )
    assert (options.worker_priority, options.scheduler_priority, options.state) == (2, 2, "active")
    assert (options.debug, options.log_errors, options.log_final_error) == (False, True, True)


def test_queue_defaults_follow_the_resource() -> None:
    domain = Domain("d")
    orders = domain.resource(Order)
    orders.action(ship)
    plain = orders.trigger("a", action=ship)
    split = orders.trigger("b", action=ship, queue="fast", scheduler_queue="scans")
    assert (plain.queue, plain.scheduler_queue) == ("orders", "orders")
    assert (split.queue, split.scheduler_queue) == ("fast", "scans")
    assert domain.queues == {"orders", "fast", "scans"}


def test_ago_and_from_now_are_evaluated_by_postgres() -> None:
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    past = ago(hours=4).compile(dialect=dialect)
    assert str(past).startswith("now() - ")
    assert list(past.params.values()) == [timedelta(hours=4)]
    assert str(from_now(days=1).compile(dialect=dialect)).startswith("now() + ")


def test_control_flow_exceptions() -> None:
    assert Snooze(timedelta(minutes=2)).seconds == 120
    with pytest.raises(ValueError, match="seconds >= 0"):
        Snooze(-1)
    assert Cancel("later").reason == "later" and Discard("never").reason == "never"


def test_trigger_interaction_lets_only_ember_started_runs_through() -> None:
    def context(source: str) -> ActionContext:
        return ActionContext(session=None, source=source)  # type: ignore[arg-type]

    assert checks.trigger_interaction(context("trigger"))
    assert checks.trigger_interaction(context("schedule"))
    assert not checks.trigger_interaction(context("direct"))


async def ship(order: Order, ctx: ActionContext) -> None:
    """A record action."""


def sync_report(ctx: ActionContext) -> None:
    """A plain generic action."""


def test_record_and_generic_actions_are_told_apart() -> None:
    domain = Domain("d")
    orders = domain.resource(Order)
    orders.action(ship)
    orders.action(sync_report)
    assert orders.actions["ship"].takes_record and orders.actions["ship"].is_async
    assert not orders.actions["sync_report"].takes_record
    assert not orders.actions["sync_report"].is_async
    assert positional_arity(lambda *args: None) == 99


def test_row_actor_persister_stores_a_small_reference() -> None:
    persister = RowActorPersister(Order)
    order = Order(id=7, shop="s", state="paid", total=1)
    with pytest.raises(ValueError, match="unsaved"):
        persister.store(order)  # no identity yet: not flushed
    with pytest.raises(TypeError, match=r"expected an instance of one of \(orders\)"):
        persister.store(object())


def test_signed_references_reject_tampering() -> None:
    sealed = seal({"type": "users", "id": 7}, b"key")
    assert unseal(sealed, b"key") == {"type": "users", "id": 7}
    tampered = {"ref": {"type": "users", "id": 1}, "sig": sealed["sig"]}
    with pytest.raises(ActorNotFound, match="invalid signature"):
        unseal(tampered, b"key")
    with pytest.raises(ActorNotFound, match="invalid signature"):
        unseal(seal({"type": "users", "id": 7}, None), b"key")
    with pytest.raises(ActorNotFound, match="malformed"):
        unseal("users:7", None)


def test_domain_names_are_identifiers() -> None:
    with pytest.raises(ValueError, match="expected letters, digits"):
        Domain("has space")


def test_registry_does_not_import_temporalio() -> None:
    code = (
        "import sys, registry; "
        "assert not [m for m in sys.modules if m.startswith('temporalio')], 'temporalio imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
