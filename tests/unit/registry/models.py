"""Small models for registry tests (no database needed)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of the registry tests."""


class Order(Base):
    """A plain resource."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    shop: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20))
    total: Mapped[int]


class Pair(Base):
    """A composite primary key."""

    __tablename__ = "pairs"

    left: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    right: Mapped[int] = mapped_column(primary_key=True)


class Day(Base):
    """A date primary key."""

    __tablename__ = "days"

    day: Mapped[date] = mapped_column(primary_key=True)
