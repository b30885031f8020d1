"""Telling an outage from the action's own failure.

An outage (no pooled connection in time, the server refusing, resetting or closing the
connection, shutting down or starting up) is retried without using an attempt and never
runs on_error. The database rejecting the action's own statements (a constraint, a
statement timeout, a deadlock) is the action's failure and uses one.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import psycopg
from sqlalchemy import exc

from ember.activities.messages import describe
from ember.registry.errors import EmberError

# SQLSTATEs of a connection failing, not of a statement: class 08 (connection
# exception), 57P01-57P05 (server shutting down, starting up, session ended) and
# 53300 (too many connections).
OUTAGE_STATES = ("08", "57P", "53300")


class Unavailable(EmberError):
    """The database could not be reached or used: an outage, not the action's failure."""


def is_outage(error: BaseException) -> bool:
    """Whether ``error`` says the database or the connection to it failed.

    True for a pool checkout that timed out, a connection SQLAlchemy found closed or
    broken (it invalidates it), and server errors of the ``OUTAGE_STATES`` classes.
    """
    if isinstance(error, Unavailable | exc.TimeoutError):
        return True
    if isinstance(error, exc.DBAPIError):
        if error.connection_invalidated:
            return True
        cause: BaseException | None = error.orig
    else:
        cause = error
    if isinstance(cause, psycopg.Error):
        state = cause.sqlstate
        return state is not None and state.startswith(OUTAGE_STATES)
    return False


@contextlib.asynccontextmanager
async def connecting() -> AsyncIterator[None]:
    """Any error while getting a connection is an outage: raised as ``Unavailable``."""
    try:
        yield
    except (exc.DBAPIError, exc.TimeoutError, OSError) as error:
        raise Unavailable(describe(error)) from error
