"""Keys and cursor values survive their trip as JSON: encode, dump, load, decode."""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    Numeric,
    String,
    Uuid,
)

from ember.registry.keys import decode_value, encode_value

VALUES = st.one_of(
    st.tuples(st.just(Integer()), st.integers()),
    st.tuples(st.just(String()), st.text()),
    st.tuples(st.just(Uuid()), st.uuids()),
    st.tuples(st.just(DateTime(timezone=True)), st.datetimes(timezones=st.just(UTC))),
    st.tuples(st.just(DateTime()), st.datetimes()),
    st.tuples(st.just(Date()), st.dates()),
    st.tuples(st.just(Numeric()), st.decimals(allow_nan=False, allow_infinity=False)),
    st.tuples(st.just(Float()), st.floats(allow_nan=False, allow_infinity=False)),
    st.tuples(st.just(Boolean()), st.booleans()),
)


@given(typed=VALUES, null=st.booleans())
def test_a_cursor_value_or_none_round_trips_through_json(
    typed: tuple[Any, Any], null: bool
) -> None:
    column_type, value = typed
    value = None if null else value
    column = Column("v", column_type)
    travelled = json.loads(json.dumps(encode_value(value)))
    assert decode_value(column, travelled) == value
    assert (decode_value(column, travelled) is None) == null
