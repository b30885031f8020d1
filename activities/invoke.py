"""Calling an action, and turning how it ended into a result or a Temporal failure."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from psycopg.errors import LockNotAvailable
from sqlalchemy.exc import DBAPIError

from ember.activities.deadline import AttemptTimedOut
from ember.activities.failures import LoggedFailure, OnFailure
from ember.activities.types import (
    ACTOR_ERROR,
    DISCARD_ERROR,
    FORBIDDEN_ERROR,
    NO_LONGER_APPLIES,
    TIMEOUT_ERROR,
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
) -> ActionResult:
    """Run one transaction's ``work`` and say how it ended.

    Snooze, Cancel, a record that no longer applies and a busy row lock are
    results; Discard, policy denials and unknown actors are non-retryable failures; any other
    exception is a retryable failure. ``on_failure`` sees every failure first (to log it).
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
        return ActionResult("cancelled", attempt, reason=cancel.reason)
    except Discard as discard:
        on_failure(discard, True)
        raise LoggedFailure(
            discard.reason, attempt, type=DISCARD_ERROR, non_retryable=True
        ) from None
    except Forbidden as denied:
        on_failure(denied, True)
        raise LoggedFailure(
            str(denied), attempt, type=FORBIDDEN_ERROR, non_retryable=True
        ) from None
    except ActorNotFound as missing:
        on_failure(missing, True)
        raise LoggedFailure(str(missing), attempt, type=ACTOR_ERROR, non_retryable=True) from None
    except AttemptTimedOut as late:
        on_failure(late, False)
        raise LoggedFailure(str(late), attempt, type=TIMEOUT_ERROR) from None
    except Exception as error:
        if isinstance(error, DBAPIError) and isinstance(error.orig, LockNotAvailable):
            return ActionResult("locked", attempt)
        on_failure(error, False)
        message = str(error) or type(error).__name__
        raise LoggedFailure(message, attempt, type=type(error).__name__) from error
    return ActionResult("succeeded", attempt)
