"""When a run started, as Temporal recorded it: what an actor reference's age is counted to."""

from __future__ import annotations

from temporalio import workflow


def run_started_at(carried: float | None = None) -> float:
    """This run's start in epoch seconds, or the first run's (``carried``) in a continued one.

    A carried time is believed only in a run continued-as-new by Ember's own
    workflow code: a fresh start's input is whatever its starter sent.
    """
    info = workflow.info()
    if carried is not None and info.continued_run_id is not None:
        return carried
    return info.start_time.timestamp()
