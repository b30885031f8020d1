"""The hand-written Temporal baseline's workflow: one row, one activity (sandbox-clean)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow

WORKFLOW = "bench.BaselineRecord"
ACTIVITY = "bench.baseline_process"


@dataclass
class BaselineItem:
    """Input of the workflow and of its activity: the row's id."""

    item_id: int


@dataclass
class BaselineDone:
    """Output: whether the row still matched and was updated."""

    updated: bool


@workflow.defn(name=WORKFLOW)
class BaselineRecordWorkflow:
    """What a team would write by hand: run the row's activity once, return its result."""

    @workflow.run
    async def run(self, item: BaselineItem) -> BaselineDone:
        """Run :data:`ACTIVITY` for ``item``."""
        done: BaselineDone = await workflow.execute_activity(
            ACTIVITY,
            item,
            result_type=BaselineDone,
            start_to_close_timeout=timedelta(seconds=60),
        )
        return done
