"""The wheel built from the checkout claims one top-level name, ``ember``.

``pip install ember-triggers`` used to put ``registry``, ``activities``, ``workflows`` and
``worker`` into site-packages, where they shadowed (or overwrote) a project's own modules
of those names.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """The wheel ``pip wheel`` builds from this checkout (hatchling, isolated build)."""
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(ROOT), "-w", str(out)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    (built,) = out.glob("ember_triggers-*.whl")
    return zipfile.ZipFile(built)


def test_every_file_of_the_wheel_is_under_ember(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    outside = [n for n in names if not n.startswith(("ember/", "ember_triggers-"))]
    assert outside == [], f"expected every wheel path under ember/, found {outside}"
    assert {n.split("/")[0] for n in names if not n.startswith("ember/")} == {
        "ember_triggers-0.1.0.dist-info"
    }


def test_the_wheel_holds_the_four_packages_as_files(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    sources = [p for d in ("registry", "activities", "workflows") for p in (ROOT / d).rglob("*.py")]
    missing = [
        str(p.relative_to(ROOT)) for p in sources if f"ember/{p.relative_to(ROOT)}" not in names
    ]
    assert sources and missing == [], f"expected them under ember/ in the wheel: {missing}"
    assert {"ember/__init__.py", "ember/testing.py", "ember/py.typed", "ember/worker.py"} <= names
    assert wheel.read("ember/worker.py") == (ROOT / "worker.py").read_bytes()


def test_the_entry_points_name_ember_modules(wheel: zipfile.ZipFile) -> None:
    (entry_points,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    text = wheel.read(entry_points).decode()
    assert "ember = ember.worker:run" in text
    assert "ember = ember.workflows.testing.plugin" in text
