"""An ``EMBER_APP`` importing a package that is not installed (tests/unit/test_worker_cli.py)."""

from __future__ import annotations

import importlib

from ember.registry import Domain

client = importlib.import_module("ember_no_such_dependency.client")
domain = Domain("missing_dependency")
