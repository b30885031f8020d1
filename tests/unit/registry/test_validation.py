"""Domain.validate(): every rule, each asserting the located message."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from registry import ActionContext, Domain, Problem, RegistryError
from tests.unit.registry.models import Day, Order, Pair


async def ship(order: Order, ctx: ActionContext) -> None:
    """A record action."""


async def report(ctx: ActionContext) -> None:
    """A generic action."""


class ShipInput(BaseModel):
    """Input of ship_with_input."""

    carrier: str


async def ship_with_input(order: Order, ctx: ActionContext) -> None:
    """A record action with an input model."""


def domain_with(**resource_options: Any) -> tuple[Domain, Any]:
    domain = Domain("shop")
    orders = domain.resource(Order, **resource_options)
    orders.action(ship)
    orders.action(report)
    orders.action(input=ShipInput)(ship_with_input)
    return domain, orders


def problems(domain: Domain, queues: list[str] | None = None) -> list[Problem]:
    with pytest.raises(RegistryError) as raised:
        domain.validate(queues)
    return raised.value.problems


def only(domain: Domain, queues: list[str] | None = None) -> Problem:
    (problem,) = problems(domain, queues)
    return problem


def test_a_valid_registry_passes() -> None:
    domain, orders = domain_with()
    orders.trigger("ship", action=ship, where=Order.state == "paid")
    orders.schedule("report", cron="@daily", action=report)
    domain.validate(queues=["orders"])


def test_unknown_action() -> None:
    domain, orders = domain_with()
    orders.trigger("t", action="teleport")
    problem = only(domain)
    assert problem.path == "shop.orders.t.action"
    assert "unknown action 'teleport'" in problem.found and "ship" in problem.found
    assert "@orders.action" in problem.fix


def test_trigger_given_a_generic_action() -> None:
    domain, orders = domain_with()
    orders.trigger("t", action=report)
    problem = only(domain)
    assert (problem.path, problem.found) == ("shop.orders.t.action", "'report', a generic action")
    assert problem.expected.startswith("a record action")


def test_schedule_given_a_record_action() -> None:
    domain, orders = domain_with()
    orders.schedule("s", cron="@daily", action=ship)
    problem = only(domain)
    assert (problem.path, problem.found) == ("shop.orders.s.action", "'ship', a record action")


@pytest.mark.parametrize("cron", ["every minute", "61 * * * *", "* * *"])
def test_invalid_trigger_cron(cron: str) -> None:
    domain, orders = domain_with()
    orders.trigger("t", action=ship, scheduler_cron=cron)
    problem = only(domain)
    assert (problem.path, problem.found) == ("shop.orders.t.scheduler_cron", repr(cron))
    assert "five fields" in problem.fix


def test_invalid_schedule_cron_and_macros_are_valid() -> None:
    domain, orders = domain_with()
    orders.schedule("ok", cron="@hourly", action=report)
    orders.schedule("bad", cron="@sometimes", action=report)
    assert only(domain).path == "shop.orders.bad.cron"


def test_action_input_rejected_by_the_input_model() -> None:
    domain, orders = domain_with()
    orders.trigger("t", action=ship_with_input, action_input={"carrier": 3})
    problem = only(domain)
    assert problem.path == "shop.orders.t.action_input.carrier"
    assert "ShipInput" in problem.expected and problem.found == "3"


def test_duplicate_trigger_and_schedule_names() -> None:
    domain, orders = domain_with()
    orders.trigger("same", action=ship)
    orders.schedule("same", cron="@daily", action=report)
    problem = only(domain)
    assert problem.path == "shop.orders.same" and "a second declaration" in problem.found


def test_duplicate_action_names() -> None:
    domain, orders = domain_with()
    orders.action(name="ship")(report)
    problem = only(domain)
    assert problem.path == "shop.orders.actions.ship" and "pass name=" in problem.fix


def test_duplicate_resource_names() -> None:
    domain, _ = domain_with()
    domain.resource(Order)
    problem = only(domain)
    assert problem.path == "shop.orders" and "second resource" in problem.found


def test_on_error_missing_or_generic() -> None:
    domain, orders = domain_with()
    orders.trigger("a", action=ship, on_error="gone")
    orders.trigger("b", action=ship, on_error=report)
    found = {p.path: p.found for p in problems(domain)}
    assert "unknown action 'gone'" in found["shop.orders.a.on_error"]
    assert found["shop.orders.b.on_error"] == "'report', a generic action"


def test_tenants_without_a_strategy() -> None:
    domain, orders = domain_with(list_tenants=["a"])
    orders.trigger("t", action=ship, list_tenants=["a"])
    orders.schedule("s", cron="@daily", action=report, tenants=["a"])
    paths = {p.path for p in problems(domain)}
    assert paths == {
        "shop.orders.list_tenants",
        "shop.orders.t.list_tenants",
        "shop.orders.s.tenants",
    }
    assert all("tenant_column" in p.fix for p in problems(domain))


def test_tenanted_resource_needs_tenants_to_scan() -> None:
    domain, orders = domain_with(tenant_column="shop")
    orders.trigger("t", action=ship)
    problem = only(domain)
    assert problem.path == "shop.orders.t.list_tenants"
    assert "no list_tenants" in problem.found


def test_both_tenant_strategies_and_a_missing_tenant_column() -> None:
    domain, _ = domain_with(tenant_column="nope", tenant_schema=True, list_tenants=["a"])
    found = {p.path: p for p in problems(domain)}
    assert found["shop.orders.tenant_schema"].found == "both tenant_column and tenant_schema"
    assert found["shop.orders.tenant_column"].found == "'nope'"
    assert "shop" in found["shop.orders.tenant_column"].fix


def test_composite_and_unsupported_primary_keys() -> None:
    domain = Domain("shop")
    domain.resource(Pair)
    domain.resource(Day)
    found = {p.path: p for p in problems(domain)}
    assert found["shop.pairs.primary_key"].found == "a composite key (left, right)"
    assert "surrogate" in found["shop.pairs.primary_key"].fix
    assert found["shop.days.primary_key"].expected == "an integer, text or UUID primary key"


@pytest.mark.parametrize("where", [True, "state = 'paid'", Order.state])
def test_where_must_be_a_sql_boolean_expression(where: Any) -> None:
    domain, orders = domain_with()
    orders.trigger("t", action=ship, where=where)
    problem = only(domain)
    assert problem.path == "shop.orders.t.where"
    assert problem.expected.startswith("a SQLAlchemy boolean expression")


def test_queues_the_worker_does_not_run() -> None:
    domain, orders = domain_with()
    orders.trigger("t", action=ship, queue="fast", scheduler_queue="scans")
    found = {p.path: p for p in problems(domain, queues=["fast"])}
    assert set(found) == {"shop.orders.t.scheduler_queue"}
    assert "add scans=<concurrency> to EMBER_QUEUES" in found["shop.orders.t.scheduler_queue"].fix


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("worker_priority", 4),
        ("scheduler_priority", -1),
        ("stream_batch_size", 0),
        ("record_limit", 0),
        ("max_attempts", 0),
        ("chunk_size", 0),
        ("max_scheduler_attempts", 0),
    ],
)
def test_numbers_out_of_range(option: str, value: int) -> None:
    domain, orders = domain_with()
    orders.trigger("t", action=ship, **{option: value})
    problem = only(domain)
    assert (problem.path, problem.found) == (f"shop.orders.t.{option}", repr(value))
    assert "greater than" in problem.expected or "less than" in problem.expected


def test_misspelled_option_suggests_the_right_one() -> None:
    domain, orders = domain_with()
    orders.trigger("t", action=ship, max_attempt=3)
    problem = only(domain)
    assert (problem.path, problem.found) == ("shop.orders.t.max_attempt", "unknown option")
    assert problem.fix == "did you mean 'max_attempts'?"


def test_missing_action_option() -> None:
    domain, orders = domain_with()
    orders.trigger("t")
    problem = only(domain)
    assert (problem.path, problem.fix) == ("shop.orders.t.action", "pass action=...")


def test_unknown_sort_column() -> None:
    domain, orders = domain_with()
    orders.trigger("t", action=ship, sort=["-total", "colour"])
    problem = only(domain)
    assert (problem.path, problem.found) == ("shop.orders.t.sort", "'colour'")


def test_every_problem_is_reported_at_once_one_line_each() -> None:
    domain, orders = domain_with()
    orders.trigger("a", action="nope")
    orders.trigger("b", action=ship, scheduler_cron="never")
    orders.trigger("c", action=ship, max_atempts=2, worker_priority=9)
    with pytest.raises(RegistryError) as raised:
        domain.validate()
    lines = str(raised.value).splitlines()
    assert lines[0] == "4 problems in the Ember registry:"
    assert len(lines) == 5
    for line in lines[1:]:
        assert line.startswith("  - shop.orders.")
        assert ": expected " in line and ", found " in line and "; fix: " in line
