"""Any combination of options validates or raises a located RegistryError, nothing else."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry import ActionContext, Backoff, Domain, RegistryError, TriggerOptions
from tests.unit.registry.models import Order


async def ship(order: Order, ctx: ActionContext) -> None:
    """A record action."""


async def report(ctx: ActionContext) -> None:
    """A generic action."""


ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=10_000),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.timedeltas(min_value=timedelta(seconds=-5), max_value=timedelta(hours=2)),
    st.just(Order.state == "paid"),
    st.just(Order.state),
    st.just(Backoff()),
    st.sampled_from(["ship", "report", "missing", "* * * * *", "@daily", "bad cron", "-total"]),
)
OPTION_NAMES = st.sampled_from([*TriggerOptions.model_fields, "max_attempt", "colour", "when"])
TRIGGER_OPTIONS = st.dictionaries(OPTION_NAMES, ANY_VALUE, max_size=8)
SCHEDULE_OPTIONS = st.dictionaries(
    st.sampled_from(
        [
            "cron",
            "action",
            "action_input",
            "queue",
            "max_attempts",
            "priority",
            "state",
            "tenants",
            "backoff",
            "timeout",
            "typo",
        ]
    ),
    ANY_VALUE,
    max_size=6,
)


def declared(kind: str, options: dict[str, Any], tenanted: bool) -> Domain:
    domain = Domain("prop")
    orders = domain.resource(Order, tenant_column="shop" if tenanted else None)
    orders.action(ship)
    orders.action(report)
    if kind == "trigger":
        orders.trigger("t", **options)
    else:
        orders.schedule("t", **options)
    return domain


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(options=TRIGGER_OPTIONS, tenanted=st.booleans())
def test_trigger_declarations_validate_or_report_located_problems(
    options: dict[str, Any], tenanted: bool
) -> None:
    domain = declared("trigger", options, tenanted)
    try:
        domain.validate(queues=["orders"])
    except RegistryError as error:
        assert error.problems
        for problem in error.problems:
            assert problem.path.startswith("prop.orders.t"), problem
            assert problem.expected and problem.found and problem.fix


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(options=SCHEDULE_OPTIONS, tenanted=st.booleans())
def test_schedule_declarations_validate_or_report_located_problems(
    options: dict[str, Any], tenanted: bool
) -> None:
    domain = declared("schedule", options, tenanted)
    try:
        domain.validate()
    except RegistryError as error:
        for problem in error.problems:
            assert problem.path.startswith("prop.orders.t"), problem
