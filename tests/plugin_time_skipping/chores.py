"""A tiny application whose triggers wait: one retries with the default backoff, one snoozes."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Integer, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ember.registry import ActionContext, Domain, Snooze


class Base(DeclarativeBase):
    """Declarative base of the chores app."""


class Chore(Base):
    """Something to do; ``done`` says by which trigger."""

    __tablename__ = "chores"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    done: Mapped[str | None] = mapped_column(Text)


chores_domain = Domain("chores")
chores = chores_domain.resource(Chore)
snoozes: Counter[int] = Counter()


@chores.action
async def do_flaky(chore: Chore, ctx: ActionContext) -> None:
    """Fails on the first two attempts."""
    if ctx.attempt < 3:
        raise RuntimeError(f"not yet (attempt {ctx.attempt})")
    chore.done = "flaky"


@chores.action
async def do_later(chore: Chore, ctx: ActionContext) -> Snooze | None:
    """Snoozes for an hour the first time it runs."""
    snoozes[chore.id] += 1
    if snoozes[chore.id] == 1:
        return Snooze(3600)
    chore.done = "later"
    return None


flaky = chores.trigger("flaky", action=do_flaky, where=Chore.id == 1, max_attempts=3)
later = chores.trigger("later", action=do_later, where=Chore.id == 2)
