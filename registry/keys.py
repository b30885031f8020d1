"""Primary keys and keyset values as text: how they travel in ids and cursors."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from ember.registry.resource import Resource

_DECODERS: dict[type[Any], Any] = {
    int: int,
    str: str,
    uuid.UUID: uuid.UUID,
    datetime: datetime.fromisoformat,
    date: date.fromisoformat,
    Decimal: Decimal,
    float: float,
    bool: bool,
}


def decode_key(resource: Resource, raw: str) -> Any:
    """The primary key value of ``raw`` (its text form in ids)."""
    return decode_value(resource.primary_key, raw)


def encode_value(value: Any) -> Any:
    """A JSON-safe form of a key or sort value."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    return value


def decode_value(column: Any, raw: Any) -> Any:
    """``raw`` (text or JSON) as a value of ``column``'s Python type."""
    if raw is None:
        return None
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return raw
    decoder = _DECODERS.get(python_type)
    return raw if decoder is None or isinstance(raw, python_type) else decoder(raw)
