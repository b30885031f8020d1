"""The helpdesk example's tables: organisations (the tenants), users and tickets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, false, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of the example."""


class Organisation(Base):
    """A customer organisation; its slug is the tenant."""

    __tablename__ = "organisations"

    slug: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)


class User(Base):
    """An agent who works tickets; the actor of direct runs."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation: Mapped[str] = mapped_column(ForeignKey("organisations.slug"))
    name: Mapped[str] = mapped_column(Text)
    is_admin: Mapped[bool] = mapped_column(server_default=false())


class Ticket(Base):
    """A support ticket."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation: Mapped[str] = mapped_column(ForeignKey("organisations.slug"), index=True)
    subject: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), server_default="open", index=True)
    priority: Mapped[str] = mapped_column(String(16), server_default="normal")
    escalated: Mapped[bool] = mapped_column(server_default=false())
    escalated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Digest(Base):
    """A daily summary written by the scheduled action."""

    __tablename__ = "digests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation: Mapped[str] = mapped_column(ForeignKey("organisations.slug"))
    open_tickets: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
