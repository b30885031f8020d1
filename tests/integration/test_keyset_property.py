"""The scan's keyset paging, on real PostgreSQL, against a plain sorted list.

Hypothesis draws rows (nullable columns with many ties and NULLs), a sort of one to
three columns in mixed directions, a ``where`` and a page size. Paging through the
real ``scan_query`` with the cursor travelling as JSON (as it does between the scan
activity and its workflow) must give every matching row exactly once, in the order
Python's ``sorted`` gives with NULL greater than every value.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import DateTime, Engine, Integer, create_engine, delete, insert
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ember.activities.records import scan_columns, scan_query
from ember.registry import ActionContext, Domain, Trigger
from ember.registry.keys import encode_value


class Base(DeclarativeBase):
    """Declarative base of this module's table."""


class Row(Base):
    """Rows with nullable and non-nullable sort columns."""

    __tablename__ = "keyset_rows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    a: Mapped[int | None] = mapped_column(Integer)
    b: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    c: Mapped[int] = mapped_column(Integer)


COLUMNS = ("a", "b", "at", "c", "id")
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
SMALL = st.integers(min_value=0, max_value=3)  # few values: many ties
ROWS = st.lists(
    st.tuples(
        st.one_of(st.none(), SMALL),
        st.one_of(st.none(), SMALL),
        st.one_of(st.none(), SMALL.map(lambda days: EPOCH + timedelta(days=days))),
        SMALL,
    ),
    max_size=25,
)
SORTS = st.lists(
    st.tuples(st.sampled_from(COLUMNS), st.booleans()),
    min_size=1,
    max_size=3,
    unique_by=lambda s: s[0],
).map(lambda sort: [f"-{name}" if descending else name for name, descending in sort])


@pytest.fixture
def sync_engine(database_url: str) -> Iterator[Engine]:
    """A synchronous engine on the test's database, with ``keyset_rows`` created."""
    engine = create_engine(database_url)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def trigger_for(sort: list[str], least_c: int | None) -> Trigger:
    """A trigger over ``keyset_rows`` with ``sort`` and an optional ``c >= least_c`` where."""
    rows = Domain("keyset").resource(Row)

    @rows.action
    async def touch(row: Row, ctx: ActionContext) -> None:
        """Unused: only the scan query is exercised."""

    where = None if least_c is None else Row.c >= least_c
    return rows.trigger("touch", action=touch, where=where, sort=sort, scheduler_cron=None)


def expected_order(rows: list[dict[str, Any]], trigger: Trigger, least_c: int | None) -> list[int]:
    """Matching row ids sorted in Python: each column NULL-last ascending, NULL-first descending."""

    def key(row: dict[str, Any]) -> list[tuple[int, Any]]:
        parts: list[tuple[int, Any]] = []
        for column, descending in scan_columns(trigger):
            value = row[column.key]
            if value is None:
                parts.append((0 if descending else 1, 0))
            else:
                rank = value.timestamp() if isinstance(value, datetime) else value
                parts.append((1 if descending else 0, -rank if descending else rank))
        return parts

    matching = [row for row in rows if least_c is None or row["c"] >= least_c]
    return [row["id"] for row in sorted(matching, key=key)]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    values=ROWS,
    sort=SORTS,
    least_c=st.one_of(st.none(), SMALL),
    page_size=st.integers(min_value=1, max_value=6),
)
def test_keyset_pages_reach_every_matching_row_once_in_sorted_order(
    sync_engine: Engine,
    values: list[tuple[int | None, int | None, datetime | None, int]],
    sort: list[str],
    least_c: int | None,
    page_size: int,
) -> None:
    rows = [{"id": i, "a": a, "b": b, "at": at, "c": c} for i, (a, b, at, c) in enumerate(values)]
    trigger = trigger_for(sort, least_c)
    key_index = [column.key for column, _ in scan_columns(trigger)].index("id")
    reached: list[int] = []
    with sync_engine.begin() as connection:
        connection.execute(delete(Row))
        if rows:
            connection.execute(insert(Row), rows)
        cursor: list[Any] | None = None
        for _ in range(len(rows) + 2):  # a correct scan needs at most len(rows) + 1 pages
            page = connection.execute(scan_query(trigger, None, cursor, page_size)).all()
            reached += [row[key_index] for row in page]
            if len(page) < page_size:
                break
            cursor = json.loads(json.dumps([encode_value(value) for value in page[-1]]))
        else:
            pytest.fail(f"sort={sort}: the scan never reached its last page")
    assert reached == expected_order(rows, trigger, least_c), f"sort={sort}, page size {page_size}"
