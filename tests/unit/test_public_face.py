"""``import ember``: the names an application needs, loaded on first use."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import ember
import ember.testing

ROOT = Path(__file__).resolve().parents[2]
# What issue 19 asks the public face for, besides the exceptions.
NEEDED = {
    "Domain",
    "ActionContext",
    "Snooze",
    "Cancel",
    "Discard",
    "Backoff",
    "ago",
    "from_now",
    "enqueue_trigger",
    "TriggerClient",
    "Outcome",
    "TriggerRunSummary",
    "EmberWorker",
    "Settings",
    "RowActorPersister",
    "ActorPersister",
    "ember_metadata",
    "create_ember_tables",
    "checks",
    "Trigger",
    "ScheduledAction",
    "Resource",
}


def typed_imports() -> dict[str, tuple[str, str]]:
    """``name -> (module, attribute)`` of the ``if TYPE_CHECKING:`` imports of ember/."""
    tree = ast.parse((ROOT / "ember" / "__init__.py").read_text())
    (block,) = [
        n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"
    ]
    return {
        alias.asname or alias.name: (node.module, alias.name)
        for node in block.body
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }


def test_the_public_face_has_what_an_application_needs() -> None:
    assert set(ember.__all__) >= NEEDED
    exceptions = {
        name
        for name in ember.__all__
        if isinstance(getattr(ember, name), type)
        and issubclass(getattr(ember, name), BaseException)
    }
    assert {"EmberError", "RegistryError", "DeclarationDeleted", "MissingExtra"} <= exceptions
    assert all(issubclass(getattr(ember, name), ember.EmberError) for name in exceptions)


@pytest.mark.parametrize("name", sorted(ember.__all__))
def test_each_public_name_is_the_object_its_typed_import_names(name: str) -> None:
    module, attribute = typed_imports()[name]
    assert getattr(ember, name) is getattr(importlib.import_module(module), attribute)


def test_the_typed_imports_and_all_agree() -> None:
    assert sorted(typed_imports()) == sorted(ember.__all__)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="module 'ember' has no attribute 'Nope'"):
        _ = ember.Nope  # type: ignore[attr-defined]
    assert "Domain" in dir(ember)


def test_the_testing_module_has_the_oban_style_assertions() -> None:
    from ember.workflows.testing import assertions

    for name in ("assert_would_schedule", "refute_would_schedule", "assert_triggered"):
        assert getattr(ember.testing, name) is getattr(assertions, name)


@pytest.mark.parametrize(
    ("code", "loads_temporal"),
    [
        ("import ember", False),
        ("from ember import ActionContext, Domain, ago, ember_metadata, enqueue_trigger", False),
        ("from ember import TriggerClient", True),
    ],
)
def test_declaring_loads_no_temporal(code: str, loads_temporal: bool) -> None:
    check = f"import sys\n{code}\nprint(any(m.startswith('temporalio') for m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", check], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(loads_temporal)
