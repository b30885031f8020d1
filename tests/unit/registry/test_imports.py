"""The registry is the declarative layer: importing it must not import Temporal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

CHECK = """
import importlib, pkgutil, sys
from ember import registry
{extra}
loaded = sorted(m for m in sys.modules if m.startswith("temporalio"))
assert not loaded, loaded
"""
EVERY_MODULE = (
    "for module in pkgutil.iter_modules(registry.__path__):\n"
    "    importlib.import_module('ember.registry.' + module.name)"
)


@pytest.mark.parametrize("extra", ["", EVERY_MODULE], ids=["package", "every-module"])
def test_registry_does_not_import_temporalio(extra: str) -> None:
    code = CHECK.format(extra=extra)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_the_check_sees_a_temporalio_import() -> None:
    code = CHECK.format(extra="import temporalio.common")
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "temporalio" in result.stderr
