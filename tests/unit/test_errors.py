"""One exception root: every exception Ember defines is an EmberError, and the CLI says so
in one line."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

from ember import activities, registry, worker, workflows
from ember.activities.invoke import NoLongerApplies
from ember.registry import (
    ActorNotFound,
    Cancel,
    ConfigurationError,
    Discard,
    Domain,
    EmberError,
    InvalidArgument,
    RegistryError,
    Snooze,
    UnknownDeclaration,
    WrongType,
)
from ember.registry.tenancy import TenantNotFound
from ember.workflows.connection import MetricsUnavailable, SearchAttributeError, TemporalUnreachable
from ember.workflows.drain import DrainTooLarge
from ember.workflows.settings import SettingsError
from ember.workflows.startup import AppImportError, DatabaseUnreachable
from ember.workflows.testing.servers import ServerError


def every_module() -> list[ModuleType]:
    """Every module of Ember's packages, and the command line."""
    modules: list[ModuleType] = [worker]
    for package in (registry, activities, workflows):
        modules.append(package)
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            modules.append(importlib.import_module(info.name))
    return modules


def exceptions_defined_in(module: ModuleType) -> list[type[BaseException]]:
    return [
        value
        for _, value in inspect.getmembers(module, inspect.isclass)
        if issubclass(value, BaseException) and value.__module__ == module.__name__
    ]


def test_every_exception_ember_defines_is_an_ember_error() -> None:
    found = {cls for module in every_module() for cls in exceptions_defined_in(module)}
    assert {RegistryError, DrainTooLarge, ServerError, NoLongerApplies} <= found  # it looked
    assert [cls.__qualname__ for cls in found if not issubclass(cls, EmberError)] == []


@pytest.mark.parametrize(
    ("error", "builtin"),
    [
        (RegistryError, ValueError),
        (ConfigurationError, ValueError),
        (SettingsError, ValueError),
        (InvalidArgument, ValueError),
        (AppImportError, ValueError),
        (UnknownDeclaration, KeyError),
        (WrongType, TypeError),
        (ActorNotFound, LookupError),
        (DrainTooLarge, RuntimeError),
        (DatabaseUnreachable, RuntimeError),
        (TemporalUnreachable, RuntimeError),
        (SearchAttributeError, RuntimeError),
        (MetricsUnavailable, RuntimeError),
        (ServerError, RuntimeError),
        (TenantNotFound, Exception),
        (Snooze, Exception),
        (Cancel, Exception),
        (Discard, Exception),
    ],
)
def test_each_keeps_the_builtin_base_callers_may_catch(
    error: type[Exception], builtin: type[Exception]
) -> None:
    assert issubclass(error, EmberError) and issubclass(error, builtin)


def test_an_unknown_name_reads_as_its_message_not_a_quoted_key() -> None:
    domain = Domain("errors")
    with pytest.raises(KeyError) as raised:
        domain.get_resource("tickets")
    assert isinstance(raised.value, UnknownDeclaration)
    assert (
        str(raised.value) == "resource: expected one of (none) in domain 'errors', found 'tickets'"
    )


class Unreadable(EmberError):
    """An Ember error whose message spans lines."""


@pytest.mark.parametrize(
    ("raised", "line"),
    [
        (Unreadable("expected a, found b;\n  fix: c"), "error: expected a, found b; fix: c"),
        (
            UnknownDeclaration("trigger: expected one of (x), found 'y'"),
            "error: trigger: expected one of (x), found 'y'",
        ),
        (KeyError("unexpected"), "error: KeyError: 'unexpected'"),
        (RuntimeError(), "error: RuntimeError"),
    ],
    ids=["ember-error", "unknown-declaration", "unexpected", "unexpected-without-message"],
)
def test_the_cli_prints_one_line_for_an_error(
    raised: Exception,
    line: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def failing(args: object) -> int:
        raise raised

    monkeypatch.setattr(worker, "execute", failing)
    assert worker.main(["validate"]) == 2
    assert capsys.readouterr().err.splitlines() == [line]


def test_with_debug_an_ember_error_shows_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    async def failing(args: object) -> int:
        raise Unreadable("expected a, found b; fix: c")

    monkeypatch.setattr(worker, "execute", failing)
    with pytest.raises(Unreadable):
        worker.main(["--debug", "validate"])
