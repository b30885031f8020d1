"""Relative times evaluated by PostgreSQL at query time: ``ago()`` and ``from_now()``."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Interval, func, literal


def _offset(**parts: float) -> ColumnElement[timedelta]:
    return literal(timedelta(**parts), Interval())


def ago(**parts: float) -> ColumnElement[datetime]:
    """``now() - interval``, e.g. ``Ticket.updated_at < ago(hours=4)``.

    Accepts the keyword arguments of :class:`datetime.timedelta`.
    """
    return func.now() - _offset(**parts)


def from_now(**parts: float) -> ColumnElement[datetime]:
    """``now() + interval``, e.g. ``Ticket.due_at < from_now(days=1)``."""
    return func.now() + _offset(**parts)
