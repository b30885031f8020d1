"""Calling an action, and turning how it ended into a result or a Temporal failure."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from psycopg.errors import LockNotAvailable
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from temporalio.exceptions import ApplicationError

from activities.messages import MESSAGE_LIMIT, TYPE_LIMIT, cut, describe
from activities.outages import is_outage
from activities.types import (
    ACTION_FAILURE,
    ACTOR_ERROR,
    DISCARD_ERROR,
    NO_LONGER_APPLIES,
    TIMEOUT_ERROR,
    UNAVAILABLE_ERROR,
    ActionResult,
)
from registry import Action, ActionContext, ActorNotFound, Cancel, Discard, Snooze
from registry.actions import Policy


class NoLongerApplies(Exception):
    """The record no longer matches the trigger's condition (or is gone)."""


class AttemptTimedOut(Exception):
    """The action ran past its trigger's ``timeout``."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"attempt exceeded {seconds:g}s")


@contextlib.asynccontextmanager
async def timed(seconds: float, connection: AsyncConnection) -> AsyncIterator[None]:
    """The attempt's clock: past ``seconds``, cancel the block and raise AttemptTimedOut.

    The connection may be left mid-statement, so it is invalidated (not reused).
    """
    clock = asyncio.timeout(seconds)
    try:
        async with clock:
            yield
    except TimeoutError:
        if not clock.expired():
            raise  # the action's own TimeoutError: its failure, as any other
        await connection.invalidate()
        raise AttemptTimedOut(seconds) from None


async def call_action(action: Action, record: Any, ctx: ActionContext) -> None:
    """Run ``action`` (policy first) inside ``ctx.session``'s transaction.

    Raises:
        Discard: the policy denied the run (reason ``forbidden``).
        Snooze: the action asked to run again later (returned or raised).
        Cancel / Discard / any exception the action raised.
    """
    if action.policy is not None and not await allows(action.policy, record, ctx):
        raise Discard("forbidden")
    args = (record, ctx) if action.takes_record else (ctx,)
    if action.is_async:
        result = await action.function(*args)
    else:
        result = await ctx.session.run_sync(lambda _session: action.function(*args))
    if isinstance(result, Snooze):
        raise result


async def allows(policy: Policy, record: Any, ctx: ActionContext) -> bool:
    """Ask ``policy`` (plain or ``async def``) whether ``ctx.actor`` may act on ``record``."""
    decision = policy(ctx.actor, record, ctx)
    if inspect.isawaitable(decision):
        decision = await decision
    return bool(decision)


async def settle(
    work: Callable[[], Awaitable[None]],
    attempt: int,
    on_failure: Callable[[BaseException], None],
    limit: int = MESSAGE_LIMIT,
) -> ActionResult:
    """Run one transaction's ``work`` and say how it ended.

    Snooze, Cancel, a record that no longer applies and a busy row lock are results.
    Every failure is raised as an ApplicationError whose message is cut to ``limit``
    bytes: an outage (``is_outage``) retryable, for Temporal to try again without
    using an attempt; Discard and unknown actors non-retryable; any other exception,
    after ``on_failure`` saw it, non-retryable and marked as the action's
    (``ACTION_FAILURE``): the workflow counts it and retries while attempts remain.
    """
    try:
        await work()
    except NoLongerApplies:
        return ActionResult("cancelled", attempt, reason=NO_LONGER_APPLIES)
    except Snooze as snooze:
        return ActionResult("snoozed", attempt, snooze_seconds=snooze.seconds)
    except Cancel as cancel:
        return ActionResult("cancelled", attempt, reason=cut(cancel.reason, limit))
    except Discard as discard:
        raise ApplicationError(
            cut(discard.reason, limit), attempt, type=DISCARD_ERROR, non_retryable=True
        ) from None
    except ActorNotFound as missing:
        raise ApplicationError(
            describe(missing, limit), attempt, type=ACTOR_ERROR, non_retryable=True
        ) from None
    except Exception as error:
        if isinstance(error, DBAPIError) and isinstance(error.orig, LockNotAvailable):
            return ActionResult("locked", attempt)
        if is_outage(error):
            raise ApplicationError(
                describe(error, limit), attempt, type=UNAVAILABLE_ERROR
            ) from None
        on_failure(error)
        kind = TIMEOUT_ERROR if isinstance(error, AttemptTimedOut) else type(error).__name__
        failure = ApplicationError(
            describe(error, limit),
            attempt,
            ACTION_FAILURE,
            type=cut(kind, TYPE_LIMIT),
            non_retryable=True,
        )
        # The action's traceback, without its exception as a cause: a cause is carried
        # whole, and its message may be megabytes.
        raise failure.with_traceback(error.__traceback__) from None
    return ActionResult("succeeded", attempt)
