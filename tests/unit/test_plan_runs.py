"""Which runs a scan page starts: a key whose run id Temporal would refuse gets none."""

from __future__ import annotations

import pytest
from sqlalchemy import Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ember.activities.run_ids import RunIdTooLong, plan_runs, record_run_id
from ember.registry import ActionContext, Domain, Trigger, naming


class Base(DeclarativeBase):
    """Declarative base of this module."""


class Label(Base):
    """A row keyed by text of any length."""

    __tablename__ = "labels"

    key: Mapped[str] = mapped_column(Text, primary_key=True)


def marking(**options: object) -> Trigger:
    """A trigger over labels."""
    labels = Domain("plan").resource(Label)

    @labels.action
    async def mark(label: Label, ctx: ActionContext) -> None:
        """Unused."""

    return labels.trigger("mark", action=mark, scheduler_cron=None, **options)


TOO_LONG = "m" * 1200
HALF = "p" * 600  # its record id fits; a chunk id holds it twice and does not


def test_a_key_whose_run_id_is_over_the_limit_is_skipped_with_the_reason() -> None:
    plan = plan_runs(marking(), "acme", ["a", TOO_LONG, "b"])
    assert plan.records == ["a", "b"] and plan.chunks == []
    (reason,) = plan.skipped
    assert f"at most {naming.MAX_ID_BYTES} bytes" in reason
    assert "1200 characters" in reason and "fix:" in reason


def test_the_limit_counts_bytes_and_includes_the_tenant() -> None:
    trigger = marking()
    fits = naming.MAX_ID_BYTES - len(trigger.workflow_id("acme", "").encode())
    assert record_run_id(trigger, "acme", "k" * fits).endswith("k" * fits)
    with pytest.raises(RunIdTooLong, match="no run can start"):
        record_run_id(trigger, "acme", "é" * (fits // 2 + 1))
    with pytest.raises(RunIdTooLong):
        record_run_id(trigger, "acme" + "a" * fits, "k")


def test_chunks_hold_what_fits_and_a_key_too_long_for_a_chunk_id_gets_a_record_run() -> None:
    plan = plan_runs(marking(chunk_size=2), None, ["a", "b", HALF, "c", TOO_LONG, "x"])
    assert plan.chunks == [["a", "b"], ["c", "x"]]
    assert plan.records == [HALF]
    assert len(plan.skipped) == 1
