"""The transaction around an action: Ember alone ends it, commits only in time, and runs a
plain ``def`` action's transaction on a thread of its own so it cannot stall the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import threading
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from ember.activities.deadline import Deadline
from ember.activities.outages import connecting
from ember.registry import Action
from ember.registry.errors import EmberError

T = TypeVar("T")
Sessions = async_sessionmaker[AsyncSession]
Body = Callable[[AsyncSession], Awaitable[None]]

OWNED = "ember.owned"  # Session.info keys
MISUSED = "ember.misused"


class TransactionOwned(EmberError, RuntimeError):
    """An action tried to end the transaction Ember owns."""

    def __init__(self, method: str) -> None:
        super().__init__(
            "actions must not commit, roll back or close ctx.session; Ember commits after the "
            f"action (found ctx.session.{method}()); fix: remove the call, and use "
            "ctx.session.begin_nested() for a savepoint you may roll back"
        )


class OwnedSession(Session):
    """The sync session behind every session Ember opens for an action.

    While the action's transaction is owned (``owned``), ending it (``commit``,
    ``rollback``, ``close``, ``reset``, ``invalidate``) raises TransactionOwned;
    savepoints (``begin_nested()``) stay free.
    """

    def _refuse(self, method: str) -> None:
        if self.info.get(OWNED):
            self.info[MISUSED] = method
            raise TransactionOwned(method)

    def commit(self) -> None:
        self._refuse("commit")
        super().commit()

    def rollback(self) -> None:
        self._refuse("rollback")
        super().rollback()

    def close(self) -> None:
        self._refuse("close")
        super().close()

    def reset(self) -> None:
        self._refuse("reset")
        super().reset()

    def invalidate(self) -> None:
        self._refuse("invalidate")
        super().invalidate()


def owned_sessions(bind: Any) -> Sessions:
    """Sessions on ``bind`` (an engine or a connection) whose transaction Ember owns."""
    return async_sessionmaker(bind=bind, expire_on_commit=False, sync_session_class=OwnedSession)


@contextmanager
def owned(session: AsyncSession) -> Iterator[None]:
    """Refuse to end ``session``'s transaction in the block; raise after it if anyone tried."""
    info = session.sync_session.info
    info[OWNED] = True
    try:
        yield
    finally:
        del info[OWNED]
    if MISUSED in info:  # the action caught the error and went on: it still fails
        raise TransactionOwned(info.pop(MISUSED))


async def transact(body: Body, sessions: Sessions, deadline: Deadline) -> None:
    """Run ``body`` in a new transaction and commit it, unless the attempt ran out of time."""
    deadline.check()
    async with sessions() as session, session.begin():
        async with connecting():  # a wait for the pool or a failed connect: an outage
            await session.connection()
        deadline.start_action()
        async with deadline.enforced():
            with owned(session):
                await body(session)
            await session.flush()
        deadline.begin_commit()


async def run_transaction(
    action: Action, body: Body, deadline: Deadline, sessions: Sessions, thread_sessions: Sessions
) -> None:
    """``transact`` on this event loop for an ``async def`` action; for a plain ``def``
    one, on a new thread with its own loop and a connection of ``thread_sessions``."""
    if action.is_async:
        await transact(body, sessions, deadline)
    else:
        await first_connected(thread_sessions)
        await on_own_thread(lambda: transact(body, thread_sessions, deadline), deadline)


_FIRST_CONNECTED: weakref.WeakSet[Engine] = weakref.WeakSet()


async def first_connected(sessions: Sessions) -> None:
    """Connect ``sessions``' engine once from this (the worker's) loop before threads do.

    SQLAlchemy guards an async engine's first connection with an asyncio lock, bound
    to one event loop: threads racing for it, each on a loop of its own, would fail
    ("bound to a different event loop") or never be woken.
    """
    engine: AsyncEngine = sessions.kw["bind"]
    if engine.sync_engine not in _FIRST_CONNECTED:
        async with engine.connect():
            pass
        _FIRST_CONNECTED.add(engine.sync_engine)


async def on_own_thread(work: Callable[[], Coroutine[Any, Any, T]], deadline: Deadline) -> T:
    """Run ``work`` on an event loop of its own in a new thread, so that blocking code
    stalls nothing else; at the deadline (or when cancelled) give up on it unless its
    commit has begun, in which case wait for that commit's result.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def fill(outcome: Callable[[], None]) -> None:
        if not done.done():  # else given up on
            outcome()

    def main() -> None:
        outcome: Callable[[], None]
        try:
            outcome = functools.partial(done.set_result, asyncio.run(work()))
        except BaseException as error:  # handed to the caller, whatever it is
            outcome = functools.partial(done.set_exception, error)
        with contextlib.suppress(RuntimeError):  # a closed worker loop: nobody is waiting
            loop.call_soon_threadsafe(fill, outcome)

    context = contextvars.copy_context()  # activity.info() and logging work on the thread
    threading.Thread(
        target=context.run, args=(main,), name="ember-sync-action", daemon=True
    ).start()
    try:
        async with deadline.enforced():
            return await asyncio.shield(done)
    except BaseException:
        if deadline.abandon():
            done.cancel()
            raise
    return await done
