"""A worker's log: one line per failed attempt, a traceback only when asked for."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from ember.registry import ActionContext, Domain
from examples.helpdesk.models import Ticket
from tests.integration.support import add_tickets, running, unique_domain


async def explode(ticket: Ticket, ctx: ActionContext) -> None:
    """Fails every attempt."""
    raise RuntimeError("boom")


async def guarded(ticket: Ticket, ctx: ActionContext) -> None:
    """Never runs: its policy denies everyone."""


def nobody(actor: Any, ticket: Ticket, ctx: ActionContext) -> bool:
    return False


def declare() -> Domain:
    domain = unique_domain("logs")
    tickets = domain.resource(Ticket)
    tickets.action(explode)
    tickets.action(policy=nobody)(guarded)
    retried = {"max_attempts": 2, "backoff": timedelta(seconds=1), "scheduler_cron": None}
    tickets.trigger("explode", action=explode, **retried)
    tickets.trigger("explode_debug", action=explode, debug=True, **retried)
    tickets.trigger("refuse", action=guarded, debug=True, scheduler_cron=None)
    return domain


def failure_records(caplog: pytest.LogCaptureFixture, trigger: str) -> list[logging.LogRecord]:
    """Every record about ``trigger``'s failures, Ember's and the SDK's."""
    return [
        record
        for record in caplog.records
        if f".{trigger} for " in record.getMessage()
        or record.getMessage().startswith("Completing activity as failed")
    ]


async def test_each_failed_attempt_is_one_line_and_a_traceback_only_with_debug(
    dev_env: WorkflowEnvironment,
    database_url: str,
    engine: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    (ticket,) = await add_tickets(engine, 1)
    domain = declare()
    path = f"{domain.name}.tickets"
    async with running(domain, dev_env, database_url) as ember:

        async def run(trigger: str) -> list[logging.LogRecord]:
            caplog.clear()
            outcome = await (await ember.run_trigger((Ticket, ticket), trigger)).result()
            assert outcome.status in ("failed", "discarded")
            return failure_records(caplog, trigger)

        plain = await run("explode")
        assert [(r.name, r.levelno, r.getMessage(), r.exc_info) for r in plain] == [
            (
                "ember.activities",
                logging.WARNING,
                f"ember: {path}.explode for -/{ticket} failed on attempt {n} of 2: "
                "RuntimeError: boom",
                None,
            )
            for n in (1, 2)
        ]

        denied = await run("refuse")  # debug=True, yet a denial is no traceback
        assert [(r.getMessage(), r.exc_info) for r in denied] == [
            (
                f"ember: {path}.refuse for -/{ticket} was discarded on attempt 1 of 1: "
                "Forbidden: forbidden",
                None,
            )
        ]

        debugged = await run("explode_debug")  # the trigger's debug=True
        assert len(debugged) == 2
        assert all(r.exc_info and isinstance(r.exc_info[1], RuntimeError) for r in debugged)

        caplog.set_level(logging.DEBUG, logger="ember.activities")  # what --debug does
        shown = await run("explode")
        assert len(shown) == 2
        assert all(r.exc_info and isinstance(r.exc_info[1], RuntimeError) for r in shown)
