"""Calling an action, and turning how it ended into a result or a Temporal failure."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from psycopg.errors import LockNotAvailable
from sqlalchemy.exc import DBAPIError
from temporalio.exceptions import ApplicationError

from ember.activities.deadline import AttemptTimedOut
from ember.activities.failures import LoggedFailure, OnFailure
from ember.activities.messages import MESSAGE_LIMIT, TYPE_LIMIT, cut, describe
from ember.activities.outages import is_outage
from ember.activities.types import (
    ACTION_FAILURE,
    ACTOR_ERROR,
    DISCARD_ERROR,
    FORBIDDEN_ERROR,
    NO_LONGER_APPLIES,
    TIMEOUT_ERROR,
    UNAVAILABLE_ERROR,
    ActionResult,
)
from ember.registry import Action, ActionContext, ActorNotFound, Cancel, Discard, EmberError, Snooze
from ember.registry.actions import Policy
from ember.registry.tenancy import TENANT_NOT_FOUND, TenantNotFound


class NoLongerApplies(EmberError):
    """The record no longer matches the trigger's condition (or is gone)."""


class Forbidden(EmberError):
    """The action's policy denied the run: it ends ``discarded/forbidden``, without on_error."""

    def __init__(self) -> None:
        super().__init__("forbidden")


async def call_action(action: Action, record: Any, ctx: ActionContext) -> None:
    """Run ``action`` (policy first) inside ``ctx.session``'s transaction.

    Ember runs it, so ``ctx.by_ember`` is set (``checks.trigger_interaction``).

    Raises:
        Forbidden: the policy denied the run.
        Snooze: the action asked to run again later (returned or raised).
        Cancel / Discard / any exception the action raised.
    """
    ctx.by_ember = True
    if action.policy is not None and not await allows(action.policy, record, ctx):
        raise Forbidden
    if not action.takes_record:
        await invoke(action, (ctx,), ctx)
    else:  # a bulk action run for one record (run_trigger) gets a list of one
        await invoke(action, ([record] if action.bulk else record, ctx), ctx)


async def invoke(action: Action, args: tuple[Any, ...], ctx: ActionContext) -> None:
    """Call ``action``'s function on ``args``: awaited, or a plain ``def`` through
    ``ctx.session.run_sync``; a returned ``Snooze`` is raised."""
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
    on_failure: OnFailure,
    limit: int = MESSAGE_LIMIT,
) -> ActionResult:
    """Run one transaction's ``work`` and say how it ended.

    Snooze, Cancel, a record that no longer applies and a busy row lock are results.
    Every failure is raised as an ApplicationError whose message is cut to ``limit``
    bytes: an outage (``is_outage``) retryable, for Temporal to try again without
    using an attempt; Discard, policy denials and unknown actors non-retryable; any
    other exception (the action running past its time too) non-retryable and marked
    as the action's (``ACTION_FAILURE``): the workflow counts it and retries while
    attempts remain. ``on_failure`` sees every failure but outages first (to log it).
    """
    try:
        await work()
    except NoLongerApplies:
        return ActionResult("cancelled", attempt, reason=NO_LONGER_APPLIES)
    except TenantNotFound:  # a tenant_schema run's schema is missing: nothing ran, like the above
        return ActionResult("cancelled", attempt, reason=TENANT_NOT_FOUND)
    except Snooze as snooze:
        return ActionResult("snoozed", attempt, snooze_seconds=snooze.seconds)
    except Cancel as cancel:
        return ActionResult("cancelled", attempt, reason=cut(cancel.reason, limit))
    except Discard as discard:
        on_failure(discard, True)
        raise LoggedFailure(
            cut(discard.reason, limit), attempt, type=DISCARD_ERROR, non_retryable=True
        ) from None
    except Forbidden as denied:
        on_failure(denied, True)
        raise LoggedFailure(
            str(denied), attempt, type=FORBIDDEN_ERROR, non_retryable=True
        ) from None
    except ActorNotFound as missing:
        on_failure(missing, True)
        raise LoggedFailure(
            describe(missing, limit), attempt, type=ACTOR_ERROR, non_retryable=True
        ) from None
    except Exception as error:
        if isinstance(error, DBAPIError) and isinstance(error.orig, LockNotAvailable):
            return ActionResult("locked", attempt)
        if is_outage(error):
            raise ApplicationError(
                describe(error, limit), attempt, type=UNAVAILABLE_ERROR
            ) from None
        on_failure(error, False)
        kind = TIMEOUT_ERROR if isinstance(error, AttemptTimedOut) else type(error).__name__
        failure = LoggedFailure(
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
