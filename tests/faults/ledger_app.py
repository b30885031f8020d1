"""The fault tests' app: items whose action appends to a ledger in the action's transaction.

Each item carries a ``plan`` (chosen per test, or from a seeded hash of its key) saying
how its action behaves: succeed, fail once then succeed, always fail, snooze once,
cancel, discard, or hit a statement timeout. The action and ``on_error`` append a row to
``fault_ledger`` in the same transaction that moves the item out of ``pending``, so the
ledger is exactly the set of committed effects: a record acted on twice shows up as two
rows, a lost one as none.

The worker subprocess loads ``tests.faults.ledger_app:domain``, configured from the
``EMBER_FAULT_*`` variables :meth:`FaultConfig.env` writes; the test builds the same
domain in-process with :func:`build_domain` for its client.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, DateTime, Identity, Integer, String, func, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import NullPool

from ember.registry import ActionContext, Backoff, Cancel, Discard, Domain, Snooze, Trigger

TRIGGER = "process"
PENDING, DONE, FAILED = "pending", "done", "failed"

# plan -> (expected outcome, ledger kind it leaves: "action", "on_error" or None)
PLANS: dict[str, tuple[str, str | None]] = {
    "ok": ("succeeded", "action"),
    "flaky": ("succeeded", "action"),  # fails its first attempt
    "snooze": ("succeeded", "action"),  # snoozes once
    "slow_sql": ("succeeded", "action"),  # statement timeout on its first attempt
    "poison": ("errored_handled", "on_error"),  # fails every attempt
    "slow_sql_always": ("errored_handled", "on_error"),  # statement timeout every attempt
    "discard": ("discarded", "on_error"),
    "cancel": ("cancelled", None),
}


class LedgerBase(DeclarativeBase):
    """The fault app's tables (kept apart from the helpdesk example's)."""


class FaultItem(LedgerBase):
    """A record the trigger acts on while it is ``pending``."""

    __tablename__ = "fault_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    plan: Mapped[str] = mapped_column(String(16), default="ok")
    status: Mapped[str] = mapped_column(String(16), default=PENDING, index=True)


class LedgerEntry(LedgerBase):
    """One committed effect: the action (``action``) or the compensation (``on_error``).

    No unique constraint on purpose: a second effect must be recorded, not refused.
    """

    __tablename__ = "fault_ledger"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    item_id: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer)
    worker_pid: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SnoozeMark(LedgerBase):
    """Written outside the action's transaction, so a ``snooze`` item snoozes only once."""

    __tablename__ = "fault_snooze_marks"

    item_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class PlannedFailure(Exception):
    """What ``flaky``, ``poison`` and ``discard`` items raise."""


@dataclass(frozen=True)
class FaultConfig:
    """The knobs of one fault test's trigger, passed to the worker as ``EMBER_FAULT_*``."""

    domain: str = "faults"
    max_attempts: int = 3
    timeout_seconds: float = 10.0
    backoff_seconds: float = 0.5
    action_seconds: float = 0.0
    batch_size: int = 500
    snooze_seconds: float = 0.5
    statement_timeout_ms: int = 50
    chunk_size: int = 0  # 0: one workflow per record

    def env(self) -> dict[str, str]:
        """The environment variables :meth:`from_env` reads back."""
        return {f"EMBER_FAULT_{k.upper()}": str(v) for k, v in asdict(self).items()}

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> FaultConfig:
        """The configuration in ``environ`` (default: the process environment)."""
        source = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for item in fields(cls):
            raw = source.get(f"EMBER_FAULT_{item.name.upper()}")
            if raw is not None:
                values[item.name] = type(getattr(cls(), item.name))(raw)
        return cls(**values)


def plan_for(seed: int, key: int, weights: dict[str, int]) -> str:
    """A deterministic plan for ``key``: a seeded hash of it, spread over ``weights``."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") % sum(weights.values())
    for plan, weight in weights.items():
        if point < weight:
            return plan
        point -= weight
    raise AssertionError("unreachable")


_side_engines: dict[str, AsyncEngine] = {}


def _side_engine(ctx: ActionContext) -> AsyncEngine:
    """An engine outside the worker's pool, for writes that must survive a rollback."""
    bind = ctx.session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    url = engine.url.render_as_string(hide_password=False)
    if url not in _side_engines:
        _side_engines[url] = create_async_engine(url, poolclass=NullPool)
    return _side_engines[url]


async def _first_snooze(ctx: ActionContext, item_id: int) -> bool:
    async with _side_engine(ctx).begin() as connection:
        marked = await connection.execute(
            insert(SnoozeMark)
            .values(item_id=item_id)
            .on_conflict_do_nothing()
            .returning(SnoozeMark.item_id)
        )
        return marked.first() is not None


async def _record(ctx: ActionContext, item: FaultItem, kind: str, status: str) -> None:
    """Append the effect to the ledger and move the item on, in the action's transaction.

    Core statements rather than the unit of work: the soak's worker is CPU-bound.
    """
    await ctx.session.execute(
        insert(LedgerEntry).values(
            item_id=item.id, kind=kind, attempt=ctx.attempt, worker_pid=os.getpid()
        )
    )
    await ctx.session.execute(
        update(FaultItem).where(FaultItem.id == item.id).values(status=status)
    )


def build_domain(config: FaultConfig) -> tuple[Domain, Trigger]:
    """The fault app's domain and its one trigger, ``fault_items.process``."""
    domain = Domain(config.domain)
    items = domain.resource(FaultItem)

    @items.action
    async def process(item: FaultItem, ctx: ActionContext) -> Snooze | None:
        if config.action_seconds:
            await asyncio.sleep(config.action_seconds)  # inside the transaction, row locked
        plan = item.plan
        if (plan == "flaky" and ctx.attempt < 2) or plan == "poison":
            raise PlannedFailure(f"{plan} item {item.id} on attempt {ctx.attempt}")
        if plan == "discard":
            raise Discard("planned")
        if plan == "cancel":
            raise Cancel("planned")
        if plan == "snooze" and await _first_snooze(ctx, item.id):
            return Snooze(config.snooze_seconds)
        if plan == "slow_sql_always" or (plan == "slow_sql" and ctx.attempt < 2):
            await ctx.session.execute(
                text(f"SET LOCAL statement_timeout = {config.statement_timeout_ms}")
            )
            await ctx.session.execute(text("SELECT pg_sleep(5)"))
        await _record(ctx, item, "action", DONE)
        return None

    @items.action
    async def compensate(item: FaultItem, ctx: ActionContext) -> None:
        await _record(ctx, item, "on_error", FAILED)

    backoff = timedelta(seconds=config.backoff_seconds)
    trigger = items.trigger(
        TRIGGER,
        action=process,
        where=FaultItem.status == PENDING,
        scheduler_cron=None,
        max_attempts=config.max_attempts,
        max_scheduler_attempts=3,
        backoff=Backoff(initial=backoff, coefficient=2.0, maximum=backoff * 8),
        timeout=timedelta(seconds=config.timeout_seconds),
        on_error=compensate,
        stream_batch_size=config.batch_size,
        chunk_size=config.chunk_size or None,
        log_errors=False,
        log_final_error=False,
    )
    return domain, trigger


domain, trigger = build_domain(FaultConfig.from_env())
