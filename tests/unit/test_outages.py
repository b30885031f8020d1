"""Which errors are outages (no attempt used, no on_error) and which are the action's."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors
from sqlalchemy import exc

from ember.activities.outages import Unavailable, is_outage


def wrapped(orig: Exception, *, invalidated: bool = False) -> exc.DBAPIError:
    """``orig`` as SQLAlchemy raises it from a statement."""
    error = exc.DBAPIError.instance(
        "SELECT 1", {}, orig, psycopg.Error, connection_invalidated=invalidated
    )
    assert isinstance(error, exc.DBAPIError)
    return error


@pytest.mark.parametrize(
    "error",
    [
        errors.AdminShutdown("terminating connection due to administrator command"),
        errors.CrashShutdown("crash"),
        errors.CannotConnectNow("the database system is starting up"),
        errors.ConnectionFailure("connection failure"),
        errors.ConnectionException("connection exception"),
        errors.TooManyConnections("too many clients"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_connection_failures_from_the_server_are_outages(error: Exception) -> None:
    assert is_outage(wrapped(error))


def test_a_connection_sqlalchemy_found_broken_is_an_outage() -> None:
    lost = psycopg.OperationalError("server closed the connection unexpectedly")
    assert is_outage(wrapped(lost, invalidated=True))
    closed = psycopg.InterfaceError("the connection is closed")
    assert is_outage(wrapped(closed, invalidated=True))


def test_a_pool_timeout_and_a_failed_connect_are_outages() -> None:
    assert is_outage(exc.TimeoutError("QueuePool limit of size 1 overflow 1 reached"))
    assert is_outage(Unavailable("connection refused"))


@pytest.mark.parametrize(
    "error",
    [
        wrapped(errors.QueryCanceled("canceling statement due to statement timeout")),
        wrapped(errors.UniqueViolation("duplicate key")),
        wrapped(errors.DeadlockDetected("deadlock detected")),
        wrapped(psycopg.OperationalError("number of parameters must be between 0 and 65535")),
        ConnectionRefusedError("an HTTP service the action called"),
        ValueError("the action's own"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_the_actions_own_failures_are_not_outages(error: Exception) -> None:
    assert not is_outage(error)
