"""Declaration names: the part of every Temporal id and search attribute a user chooses."""

from __future__ import annotations

import re

from ember.registry.errors import Problem

NAME = re.compile(r"[A-Za-z0-9_-]+")
ALLOWED = "letters, digits, '_' or '-'"


def is_valid_name(name: str) -> bool:
    """Whether ``name`` is non-empty ASCII letters, digits, ``_`` and ``-``."""
    return isinstance(name, str) and NAME.fullmatch(name) is not None


def name_problem(path: str, kind: str, name: str, fix: str) -> Problem | None:
    """The problem with ``name`` (a ``kind`` name declared at ``path``), or None.

    ``fix`` says where to rename it; a cleaned-up suggestion is appended.
    """
    if is_valid_name(name):
        return None
    suggestion = re.sub(r"[^A-Za-z0-9_-]+", "_", str(name)).strip("_")
    hint = f", e.g. {suggestion!r}" if suggestion else ""
    return Problem(path, f"a {kind} name of {ALLOWED}", repr(name), f"{fix}{hint}")
