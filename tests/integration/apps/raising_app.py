"""An ``EMBER_APP`` whose import raises in its own code (see tests/unit/test_worker_cli.py)."""

from __future__ import annotations

from ember.registry import Domain

RETRIES = {"count": "three"}


def build() -> Domain:
    return Domain(f"raising{int(RETRIES['count'])}")


domain = build()
