"""The first hour with a project of one's own, as README's "Use Ember in your project" says.

A throwaway project outside the repository, with its own ``workflows.py``,
``activities.py``, ``registry.py`` and ``worker.py`` (the names of Ember's internals),
gets a fresh virtualenv with ``pip install '<checkout>[testing]'``. Its files are README's
code blocks, read from the README itself (each begins with a ``# path`` comment), so the
section and this test cannot drift apart. Then, as README says: ``ember dev`` until its
``export`` line, ``ember status`` with that line, and ``pytest`` with the plugin.
"""

# namespace.py: leave this file (the project's own modules bear Ember's internal names)

from __future__ import annotations

import asyncio
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ember.workflows.testing.devstack import free_port
from tests.integration.printed import PrintedLines

REPOSITORY = Path(__file__).resolve().parents[2]
SECTION = "## Use Ember in your project"
APP = "myapp.triggers:domain"
OWN_MODULES = ("workflows", "activities", "registry", "worker")
INSTALL_TIMEOUT = 240
# The project's own modules beside Ember, and a check that they stay the project's.
OWN_MODULES_TEST = """\
import importlib
from pathlib import Path

import ember.workflows.client

ROOT = Path(__file__).resolve().parents[1]


def test_the_projects_own_modules_are_its_own():
    for name in {names!r}:
        module = importlib.import_module(name)
        assert module.OWN == name and Path(module.__file__).parent == ROOT
    assert "site-packages" in ember.workflows.client.__file__
"""


@dataclass
class Project:
    """The throwaway project and its virtualenv."""

    root: Path
    bin: Path
    env: dict[str, str]
    section: str

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def readme_section() -> str:
    """README's "Use Ember in your project", up to the next section."""
    text = (REPOSITORY / "README.md").read_text()
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    return text[start:end]


def readme_files(section: str) -> dict[str, str]:
    """``path -> text`` of the section's code blocks that begin with ``# path``."""
    blocks = re.findall(r"```(?:python|toml)\n# (\S+)\n(.*?)```", section, re.DOTALL)
    return {path: text for path, text in blocks}


def write_project(root: Path, section: str) -> None:
    """README's files, an empty ``myapp/__init__.py``, and the project's own modules."""
    files = readme_files(section)
    assert {
        "myapp/models.py",
        "myapp/triggers.py",
        "conftest.py",
        "tests/test_billing.py",
        "pyproject.toml",
    } <= set(files), sorted(files)
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    (root / "myapp" / "__init__.py").write_text("")
    for name in OWN_MODULES:
        (root / f"{name}.py").write_text(f"OWN = {name!r}  # the project's own {name}.py\n")
    (root / "tests" / "test_own_modules.py").write_text(OWN_MODULES_TEST.format(names=OWN_MODULES))


def install_ember(root: Path) -> dict[str, str]:
    """A virtualenv in ``root/.venv`` with ``<checkout>[testing]``; the environment using it."""
    venv = root / ".venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("EMBER_", "PYTHON", "PYTEST", "VIRTUAL_ENV"))
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    installed = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", f"{REPOSITORY}[testing]"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT,
    )
    assert installed.returncode == 0, installed.stderr
    return env


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """The project outside the repository, Ember installed into its own virtualenv.

    Removed afterwards: the virtualenv holds the PostgreSQL and Temporal binaries."""
    root = tmp_path_factory.mktemp("own_project")
    assert not root.resolve().is_relative_to(REPOSITORY)
    try:
        section = readme_section()
        write_project(root, section)
        env = install_ember(root)
        yield Project(root, root / ".venv" / "bin", env, section)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_readme_says_what_this_test_does(project: Project) -> None:
    for command in (
        "pip install 'ember-triggers[testing]'",
        f"ember dev --app {APP}",
        "ember status",
        "\npytest\n",
    ):
        assert command in project.section, f"expected README to say {command!r}"


def test_installed_ember_claims_one_top_level_name(project: Project) -> None:
    (record,) = project.root.glob(".venv/lib/python*/site-packages/ember_triggers-*/RECORD")
    paths = [line.split(",")[0] for line in record.read_text().splitlines()]
    top = {p.split("/")[0] for p in paths if not p.startswith("..")}
    assert top == {"ember", record.parent.name}, top
    assert [p for p in paths if p.startswith("..")] == ["../../../bin/ember"]


async def test_ember_dev_prints_its_export_line_and_status_uses_it(project: Project) -> None:
    temporal_port, ui_port = free_port(), free_port()
    process = await asyncio.create_subprocess_exec(
        str(project.bin / "ember"),
        "dev",
        "--app",
        APP,
        "--root",
        str(project.root / ".ember"),
        "--temporal-port",
        str(temporal_port),
        "--ui-port",
        str(ui_port),
        cwd=project.root,
        env=project.env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    printed = PrintedLines(process, "ember dev")
    try:
        await asyncio.wait_for(printed.until("Press Ctrl-C to stop."), 120)
        export = printed.starting("export ")
        status = await asyncio.create_subprocess_exec(
            "sh",
            "-c",
            f"{export} && exec ember status",
            cwd=project.root,
            env=project.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        status_out, status_err = await asyncio.wait_for(status.communicate(), 120)
        process.send_signal(signal.SIGINT)
        await asyncio.wait_for(printed.until("ember: dev stack stopped"), 60)
        code = await asyncio.wait_for(process.wait(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert shlex.split(export)[:2] == ["export", f"EMBER_APP={APP}"]
    assert f"app           {APP} (1 trigger" in "".join(printed.lines)
    assert status.returncode == 0, status_err.decode()
    lines = status_out.decode().splitlines()
    assert any(line.startswith("invoices.remind_overdue ") for line in lines), lines
    assert code == 0, "".join(printed.lines)


def test_the_projects_tests_pass_with_the_plugin(project: Project) -> None:
    result = project.run("pytest", "-p", "no:cacheprovider", timeout=240)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "2 passed" in output, output
    assert "warning" not in output.lower(), output
