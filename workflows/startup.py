"""Start-up failures as one line naming the setting to fix: the app module, the database."""

from __future__ import annotations

import importlib
import os
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from psycopg.errors import UndefinedTable
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from ember.registry import ConfigurationError, Domain, EmberError, create_ember_tables


class AppImportError(EmberError, ValueError):
    """``EMBER_APP`` could not be imported (the message says why and where)."""


class DatabaseUnreachable(EmberError, RuntimeError):
    """PostgreSQL could not be reached, refused the connection, or lacks the tables."""


def load_domain(app: str | None) -> Domain:
    """The Domain at ``module:attribute``.

    Raises:
        ConfigurationError: no ``module:attribute``, or not a Domain there.
        AppImportError: the module, or something it imports, failed.
    """
    if not app or ":" not in app:
        raise ConfigurationError(
            f"EMBER_APP: expected module:attribute of a Domain such as "
            f"'examples.helpdesk.app:helpdesk', found {app!r}; fix: pass --app or set EMBER_APP"
        )
    module_name, _, attribute = app.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:
        raise AppImportError(import_failure(module_name, error)) from error
    domain = getattr(module, attribute, None)
    if not isinstance(domain, Domain):
        raise ConfigurationError(
            f"EMBER_APP: expected {app!r} to be an ember.Domain, found "
            f"{type(domain).__name__}; fix: point --app at the Domain object"
        )
    return domain


def load_seed(spec: str) -> Any:
    """The seed function at ``module:function`` (``worker.py dev --seed``).

    Raises:
        ConfigurationError: no callable at ``spec``.
        AppImportError: the module, or something it imports, failed.
    """
    module_name, _, attribute = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as error:
        raise AppImportError(
            import_failure(module_name, error).replace("EMBER_APP", "--seed", 1)
        ) from error
    seed = getattr(module, attribute, None)
    if not callable(seed):
        raise ConfigurationError(
            f"--seed: expected module:function of an async function taking a session, "
            f"found {spec!r}; fix: point --seed at such a function"
        )
    return seed


def import_failure(module_name: str, error: Exception) -> str:
    """Why importing ``module_name`` failed: a wrong path, a missing dependency, or an
    exception in the app's code (with the file and line it came from)."""
    missing = error.name if isinstance(error, ModuleNotFoundError) else None
    if missing and f"{module_name}.".startswith(f"{missing}."):
        return (
            f"EMBER_APP: expected an importable module, found {module_name!r} ({error}); "
            "fix: check the module path and that it is on PYTHONPATH"
        )
    where = _origin(error)
    if missing:
        return (
            f"EMBER_APP: expected {module_name!r} to import, found it needs {missing!r}, which "
            f"is not installed (imported at {where}); fix: install the package providing "
            f"{missing.partition('.')[0]!r} where the worker runs, or correct the import"
        )
    return (
        f"EMBER_APP: expected {module_name!r} to import, found {type(error).__name__}: "
        f"{error} (at {where}); fix: correct the app's code there (--debug shows the traceback)"
    )


def _origin(error: BaseException) -> str:
    """``file:line`` the error came from, and the app's line that led there if another."""
    if isinstance(error, SyntaxError) and error.filename:
        return f"{_shown(error.filename)}:{error.lineno}"
    machinery = (__file__, importlib.__file__)  # this module, and the import system's
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if frame.filename not in machinery and not frame.filename.startswith("<frozen ")
    ]
    if not frames:
        return "an unknown place"
    raised, entered = (f"{_shown(f.filename)}:{f.lineno}" for f in (frames[-1], frames[0]))
    return raised if raised == entered else f"{raised}, reached from {entered}"


def _shown(path: str) -> str:
    """``path`` relative to the working directory when it is below it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


@contextmanager
def database_errors(engine: AsyncEngine) -> Iterator[None]:
    """Turn a failure to reach or read PostgreSQL into one line naming EMBER_DATABASE_URL.

    Raises:
        DatabaseUnreachable: the server is down, silent, refuses, or lacks a table.
    """
    try:
        yield
    except (DBAPIError, OSError) as error:
        cause = error.orig if isinstance(error, DBAPIError) else error
        found = " ".join(str(cause).split())[:300] or type(cause).__name__
        url = make_url(engine.url).render_as_string(hide_password=True)
        if isinstance(cause, UndefinedTable):
            expected = f"the app's and Ember's tables in {url}"
            fix = "create them (`worker.py migrate` creates Ember's), or correct"
        else:
            expected, fix = (
                f"a PostgreSQL server accepting {url}",
                "start PostgreSQL there, or correct",
            )
        raise DatabaseUnreachable(
            f"EMBER_DATABASE_URL: expected {expected}, found {found}; fix: {fix}, or correct "
            "EMBER_DATABASE_URL / --database-url"
        ) from error


async def prepare_database(engine: AsyncEngine) -> None:
    """Create Ember's tables if missing; a failure to connect becomes one clear line.

    Raises:
        DatabaseUnreachable: the server is down, silent, or refuses the connection.
    """
    with database_errors(engine):
        await create_ember_tables(engine)
