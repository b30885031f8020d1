"""The wheel built from the checkout claims one top-level name, ``ember``.

``pip install ember-triggers`` used to put ``registry``, ``activities``, ``workflows`` and
``worker`` into site-packages, where they shadowed (or overwrote) a project's own modules
of those names.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from zipfile import ZipFile

import pytest

ROOT = Path(__file__).resolve().parents[2]


BUILDS = {
    # pip install from a checkout builds the wheel from the tree itself.
    "checkout": ["pip", "wheel", "--quiet", "--no-deps", str(ROOT), "-w"],
    # A release (python -m build) builds the sdist, then the wheel from the sdist.
    "sdist": ["build", str(ROOT), "--outdir"],
}


@pytest.fixture(scope="module", params=sorted(BUILDS))
def wheel(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> ZipFile:
    """The wheel built from this checkout, directly or through its sdist."""
    out = tmp_path_factory.mktemp(f"wheel-{request.param}")
    result = subprocess.run(
        [sys.executable, "-m", *BUILDS[request.param], str(out)],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = out.glob("ember_triggers-*.whl")
    return ZipFile(built)


def test_every_file_of_the_wheel_is_under_ember(wheel: ZipFile) -> None:
    names = wheel.namelist()
    outside = [n for n in names if not n.startswith(("ember/", "ember_triggers-"))]
    assert outside == [], f"expected every wheel path under ember/, found {outside}"
    assert {n.split("/")[0] for n in names if not n.startswith("ember/")} == {
        "ember_triggers-0.1.0.dist-info"
    }


def test_the_entry_points_name_ember_modules(wheel: ZipFile) -> None:
    (entry_points,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    text = wheel.read(entry_points).decode()
    assert "ember = ember.worker:run" in text
    assert "ember = ember.workflows.testing.plugin" in text


def test_the_wheel_holds_the_files_of_the_checkout(wheel: ZipFile) -> None:
    sources = [
        Path(directory, name).relative_to(ROOT)
        for directory, subdirectories, files in os.walk(ROOT / "ember", followlinks=True)
        if "__pycache__" not in directory
        for name in files
    ]
    assert len(sources) > 80 and Path("ember/registry/__init__.py") in sources  # the links
    differ = [str(p) for p in sources if wheel.read(str(p)) != (ROOT / p).read_bytes()]
    assert differ == [], f"expected the wheel to hold the checkout's files, found {differ} differ"
