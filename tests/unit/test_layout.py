"""The house's floors: ``worker.py`` is the command line on top, and nothing in the
packages below imports it."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import worker

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("registry", "activities", "workflows")


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module)
    return modules


@pytest.mark.parametrize("package", PACKAGES)
def test_no_package_module_imports_the_command_line(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    upward = [str(f.relative_to(ROOT)) for f in files if "worker" in imported_modules(f)]
    assert upward == []


def test_the_check_sees_an_import_of_the_command_line(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from worker import main\n")
    assert "worker" in imported_modules(module)


def test_the_command_line_defines_no_class() -> None:
    classes = [name for name, value in inspect.getmembers(worker, inspect.isclass)]
    assert [name for name in classes if getattr(worker, name).__module__ == "worker"] == []
