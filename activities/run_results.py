"""Runs that end ``failed`` or ``discarded`` close with Temporal status Failed.

The Temporal UI's workflow list shows such runs as Failed at a glance. The workflow
raises :func:`run_failure`, an ``ApplicationError`` of type ``ember.RunFailed`` whose
details are the run's result (an ``Outcome``, or a chunk's ``ChunkOutcome``); a
:class:`RunHandle` turns that failure back into the result, so ``await handle.result()``
returns the outcome whatever the status. Every other outcome closes Completed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, TypeVar

from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.converter import PayloadConverter
from temporalio.exceptions import ApplicationError

from ember.activities.types import ChunkOutcome, Outcome
from ember.registry import naming

FAILING = ("failed", "discarded")
"""Outcomes whose run closes with Temporal status Failed."""

R = TypeVar("R")


def outcome_text(outcome: Outcome) -> str:
    """One line: ``succeeded``, ``discarded: forbidden``, ``failed: RuntimeError: boom``,
    ``discarded: on_error_failed (RuntimeError: boom)``."""
    error = f"{outcome.error.type}: {outcome.error.message}" if outcome.error else None
    if outcome.reason and error and outcome.error and outcome.error.message != outcome.reason:
        return f"{outcome.status}: {outcome.reason} ({error})"
    detail = outcome.reason or error
    return f"{outcome.status}: {detail}" if detail else outcome.status


def run_failure(result: Outcome | ChunkOutcome) -> ApplicationError | None:
    """The failure a run with ``result`` ends with, or None when it ends Completed."""
    if isinstance(result, Outcome):
        if result.status not in FAILING:
            return None
        message = outcome_text(result)
    else:
        statuses = [outcome.status for outcome in result.outcomes.values()]
        failing = {s: statuses.count(s) for s in FAILING if s in statuses}
        if not failing:
            return None
        counts = ", ".join(f"{status} {count}" for status, count in failing.items())
        message = f"{sum(failing.values())} of {len(statuses)} records did not succeed: {counts}"
    return ApplicationError(message, result, type=naming.RUN_FAILED_ERROR, non_retryable=True)


class RunHandle(WorkflowHandle[Any, R]):
    """The handle of a record or chunk run: ``result()`` returns its outcome even when the
    run closed with Temporal status Failed (outcome ``failed`` or ``discarded``).

    Runs Temporal ended itself (terminated, timed out, cancelled) still raise
    ``WorkflowFailureError``.
    """

    def __init__(
        self,
        client: Client,
        id: str,
        *,
        result_type: type[R],
        run_id: str | None = None,
        result_run_id: str | None = None,
        first_execution_run_id: str | None = None,
    ) -> None:
        """The handle of run ``id`` (its latest run unless ``run_id``); ``result_type``:
        ``Outcome`` for a record run, ``ChunkOutcome`` for a chunk run."""
        super().__init__(
            client,
            id,
            run_id=run_id,
            result_run_id=result_run_id or run_id,
            first_execution_run_id=first_execution_run_id,
            result_type=result_type,
        )
        self.outcome_type = result_type
        self._started: WorkflowHandle[Any, Any] | None = None

    @classmethod
    def of(
        cls, client: Client, handle: WorkflowHandle[Any, Any], result_type: type[R]
    ) -> RunHandle[R]:
        """``handle`` (from ``Client.start_workflow``) as a RunHandle; its ``result()``
        still waits through ``handle`` (on the time-skipping test server, that lets the
        server skip time while it waits)."""
        run = cls(
            client,
            handle.id,
            result_type=result_type,
            run_id=handle.run_id,
            result_run_id=handle.result_run_id,
            first_execution_run_id=handle.first_execution_run_id,
        )
        run._started = handle
        return run

    async def result(
        self,
        *,
        follow_runs: bool = True,
        rpc_metadata: Mapping[str, str | bytes] = {},
        rpc_timeout: timedelta | None = None,
    ) -> R:
        """The run's result (see the class); waits until the run ends."""
        options: dict[str, Any] = {
            "follow_runs": follow_runs,
            "rpc_metadata": rpc_metadata,
            "rpc_timeout": rpc_timeout,
        }
        try:
            if self._started is not None:
                started: R = await self._started.result(**options)
                return started
            return await super().result(**options)
        except WorkflowFailureError as error:
            carried = _carried_result(error)
            if carried is None:
                raise
            converter: PayloadConverter = self._data_converter.payload_converter
            decoded: R = converter.from_payloads(carried, [self.outcome_type])[0]
            return decoded


def _carried_result(error: WorkflowFailureError) -> list[Payload] | None:
    """The result a run's ``ember.RunFailed`` failure carries; None for other failures."""
    cause = error.cause
    if not isinstance(cause, ApplicationError) or cause.type != naming.RUN_FAILED_ERROR:
        return None
    details = cause.failure.application_failure_info.details if cause.failure else None
    return list(details.payloads) if details and details.payloads else None
