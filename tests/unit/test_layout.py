"""The house's floors: ``worker.py`` is the command line on top, nothing in the packages
below imports it, and everything is imported through the one top-level name, ``ember``.

The repository keeps ``registry/``, ``activities/``, ``workflows/`` and ``worker.py`` at
its top; ``ember/`` links to them, and every import says ``ember.registry`` and so on. A
bare ``import registry`` would work in a checkout (the root is on ``sys.path``) but load
a second copy of the module, and installed it would find a user's own ``registry.py``.
"""

# namespace.py: leave this file (its strings are bare imports on purpose)

from __future__ import annotations

import ast
import inspect
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from ember import worker

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("registry", "activities", "workflows")
INTERNAL = (*PACKAGES, "worker")
SKIPPED_DIRECTORIES = {".venv", ".git", ".ember", "build", "dist", "node_modules"}
# An import statement at the start of a line, also inside a string (code run in a
# subprocess, a docstring's example).
BARE_IMPORT_LINE = re.compile(rf"^\s*(?:from|import) ({'|'.join(INTERNAL)})\b", re.MULTILINE)
IMPORT_LINE = re.compile(r"^\s*(?:from ([\w.]+) import|import ([\w.]+))", re.MULTILINE)


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports; ``from ember import worker`` counts as ``ember.worker``."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def repository_files(suffix: str) -> Iterator[Path]:
    """The repository's files ending in ``suffix``, not through ember/'s symlinks."""
    for directory, subdirectories, files in os.walk(ROOT):
        subdirectories[:] = sorted(d for d in subdirectories if d not in SKIPPED_DIRECTORIES)
        for name in sorted(files):
            path = Path(directory, name)
            if name.endswith(suffix) and not path.is_symlink():
                yield path


def bare_imports(path: Path) -> list[int]:
    """The lines of ``path`` importing a bare internal name (``registry``, ``worker``...)."""
    found = {
        node.lineno
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if (
            isinstance(node, ast.Import)
            and any(alias.name.split(".")[0] in INTERNAL for alias in node.names)
        )
        or (
            isinstance(node, ast.ImportFrom)
            and not node.level
            and (node.module or "").split(".")[0] in INTERNAL
        )
    }
    text = path.read_text()
    found |= {text.count("\n", 0, match.start()) + 1 for match in BARE_IMPORT_LINE.finditer(text)}
    return sorted(found)


def test_nothing_imports_a_bare_internal_package() -> None:
    files = list(repository_files(".py"))
    assert len(files) > 100 and ROOT / "worker.py" in files  # it looked
    found = [f"{path.relative_to(ROOT)}:{line}" for path in files for line in bare_imports(path)]
    assert found == [], (
        "expected every import of Ember to be ember.-qualified, found bare ones at "
        f"{found}; fix: write `from ember.registry import X`, `from ember import worker`"
    )


@pytest.mark.parametrize(
    "code",
    [
        "import registry\n",
        "import workflows.record as record\n",
        "def f():\n    from worker import main\n",
        'CODE = """\nfrom activities.types import Outcome\n"""\n',
    ],
)
def test_the_check_sees_a_bare_import(tmp_path: Path, code: str) -> None:
    module = tmp_path / "m.py"
    module.write_text(code)
    assert bare_imports(module) != []


def test_a_qualified_import_is_not_bare(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from ember.registry import Domain\nimport ember.workflows.record\n")
    assert bare_imports(module) == []


def test_readme_and_examples_import_only_the_public_face() -> None:
    sources = [ROOT / "README.md", *sorted((ROOT / "examples").rglob("*.py"))]
    imports = [
        (path, match[0].strip(), match[1] or match[2])
        for path in sources
        for match in IMPORT_LINE.finditer(path.read_text())
    ]
    found = [
        f"{path.relative_to(ROOT)}: {line}"
        for path, line, module in imports
        if module.split(".")[0] in ("ember", *INTERNAL) and module not in ("ember", "ember.testing")
    ]
    assert found == [], (
        f"expected README and examples/ to import from ember or ember.testing only, found {found}"
    )


def test_ember_links_to_the_four_internal_packages() -> None:
    for name in (*PACKAGES, "worker.py"):
        link = ROOT / "ember" / name
        assert link.is_symlink(), f"expected ember/{name} to be a symlink, found none"
        assert os.readlink(link) == f"../{name}", (
            f"expected ember/{name} -> ../{name} (relative), found {os.readlink(link)}"
        )


@pytest.mark.parametrize("package", PACKAGES)
def test_no_package_module_imports_the_command_line(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files
    upward = [str(f.relative_to(ROOT)) for f in files if "ember.worker" in imported_modules(f)]
    assert upward == []


@pytest.mark.parametrize(
    "code", ["def f():\n    from ember.worker import main\n", "from ember import worker\n"]
)
def test_the_check_sees_an_import_of_the_command_line(tmp_path: Path, code: str) -> None:
    module = tmp_path / "m.py"
    module.write_text(code)
    assert "ember.worker" in imported_modules(module)


def test_the_command_line_defines_no_class() -> None:
    assert worker.__name__ == "ember.worker"
    classes = [name for name, value in inspect.getmembers(worker, inspect.isclass)]
    assert [name for name in classes if getattr(worker, name).__module__ == worker.__name__] == []
