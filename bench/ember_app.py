"""The Ember contender's app: the ``bench_items`` model and one trigger on it.

The worker subprocess loads it as ``EMBER_APP=bench.ember_app:domain``; the harness builds
the same domain with :func:`build`. Environment variables choose the variant:

- ``BENCH_DOMAIN``: the domain name (unique per run, so Temporal ids never meet);
- ``BENCH_MODE``: ``per_record`` (one workflow per record, Ember's default),
  ``chunked`` (``chunk_size``), ``idle`` (scheduled every minute, nothing matches) or
  ``scan`` (``chunk_size`` with an action that changes nothing: the 1M-row scan);
- ``BENCH_CHUNK_SIZE``: records per chunk workflow (default 100);
- ``BENCH_LOCAL_ACTIVITY``: ``1`` runs the per-record action as a local activity.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, DateTime, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ember.registry import ActionContext, Domain, Trigger

MODES = ("per_record", "chunked", "idle", "scan")
QUEUE = "bench"
SCAN_QUEUE = "bench_scan"
TRIGGER = "process"
DEFAULT_CHUNK_SIZE = 100
SCAN_CHUNK_SIZE = 500


class Base(DeclarativeBase):
    """Declarative base of the bench model."""


class BenchItem(Base):
    """A row of ``bench_items`` (created by :mod:`bench.schema`, not by this model)."""

    __tablename__ = "bench_items"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    pending: Mapped[bool]
    runs: Mapped[int]
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


async def process(item: BenchItem, ctx: ActionContext) -> None:
    """The shared action: the row is locked and re-checked by Ember; mark it done."""
    item.pending = False
    item.runs = BenchItem.runs + 1
    item.started_at = func.now()
    item.processed_at = func.clock_timestamp()


async def touch(item: BenchItem, ctx: ActionContext) -> None:
    """Locked and re-checked, changes nothing (the scan-only variant)."""


def build(
    name: str, mode: str, chunk_size: int | None = None, *, local_activity: bool = False
) -> Domain:
    """The bench domain with one trigger, ``process``, in ``mode`` (see the module doc)."""
    if mode not in MODES:
        raise ValueError(f"BENCH_MODE: expected one of {', '.join(MODES)}, found {mode!r}")
    domain = Domain(name)
    items = domain.resource(BenchItem)
    items.action(process)
    items.action(touch)
    options: dict[str, object] = {}
    if local_activity:
        options["local_activity"] = True
    if mode == "chunked":
        options["chunk_size"] = chunk_size or DEFAULT_CHUNK_SIZE
    if mode == "scan":  # scans get their own slots: chunk activities would take them all
        options["chunk_size"] = chunk_size or SCAN_CHUNK_SIZE
        options["scheduler_queue"] = SCAN_QUEUE
    items.trigger(
        TRIGGER,
        action=touch if mode == "scan" else process,
        where=BenchItem.pending.is_(True),
        scheduler_cron="* * * * *" if mode == "idle" else None,
        queue=QUEUE,
        # As the hand-written baseline's activity: a 60 s attempt, retried (a stuck attempt
        # then costs a minute, not the default 5 and a failed run).
        timeout=timedelta(seconds=60),
        max_attempts=3,
        backoff=timedelta(seconds=1),
        **options,
    )
    return domain


def the_trigger(domain: Domain) -> Trigger:
    """The domain's only trigger."""
    return domain.get_trigger(BenchItem.__tablename__, TRIGGER)


domain = build(
    os.environ.get("BENCH_DOMAIN", "bench"),
    os.environ.get("BENCH_MODE", "per_record"),
    int(os.environ["BENCH_CHUNK_SIZE"]) if os.environ.get("BENCH_CHUNK_SIZE") else None,
    local_activity=os.environ.get("BENCH_LOCAL_ACTIVITY") == "1",
)
