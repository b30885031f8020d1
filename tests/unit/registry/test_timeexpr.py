"""ago() and from_now(): relative times PostgreSQL evaluates, never Python."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Boolean, Interval, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql import ColumnElement

from ember.registry import ago, from_now


class Base(DeclarativeBase):
    """Declarative base of this module."""


class Reminder(Base):
    """A model with a timestamp to compare against."""

    __tablename__ = "reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    due_at: Mapped[datetime]


DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]


def rendered(expression: ColumnElement[datetime]) -> tuple[str, list[object], list[object]]:
    """The SQL against PostgreSQL, the bound values and the bound types."""
    compiled = expression.compile(dialect=DIALECT)
    binds = list(compiled.binds.values())
    return str(compiled), list(compiled.params.values()), [b.type for b in binds]


@pytest.mark.parametrize(
    ("expression", "operator", "interval"),
    [
        (ago(hours=4), "-", timedelta(hours=4)),
        (ago(days=1, minutes=30), "-", timedelta(days=1, minutes=30)),
        (from_now(days=1), "+", timedelta(days=1)),
        (from_now(seconds=90), "+", timedelta(seconds=90)),
    ],
    ids=["ago-hours", "ago-mixed", "from_now-days", "from_now-seconds"],
)
def test_renders_now_plus_or_minus_an_interval_bind(
    expression: ColumnElement[datetime], operator: str, interval: timedelta
) -> None:
    sql, values, types = rendered(expression)
    assert sql == f"now() {operator} %(param_1)s"
    assert values == [interval]
    assert types and all(isinstance(t, Interval) for t in types)


def test_is_evaluated_at_query_time_not_at_declaration_time() -> None:
    query = select(Reminder.id).where(Reminder.due_at < ago(hours=1))
    sql = str(query.compile(dialect=DIALECT))
    assert "reminders.due_at < now() - %(param_1)s" in sql


def test_comparisons_with_it_are_boolean_conditions() -> None:
    assert isinstance((Reminder.due_at < ago(hours=4)).type, Boolean)
    assert isinstance((Reminder.due_at > from_now(minutes=5)).type, Boolean)
