"""Values in Temporal visibility queries: quoted so they never end the literal."""

from __future__ import annotations

import pytest

from ember.registry.naming import visibility_literal


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("acme", "'acme'"),
        ("", "''"),
        ("it's", "'it\\'s'"),
        ("back\\slash", "'back\\\\slash'"),
        ("\\'", "'\\\\\\''"),
        ('say "hi"', "'say \"hi\"'"),
        ("x' OR WorkflowId != '", "'x\\' OR WorkflowId != \\''"),
    ],
    ids=["plain", "empty", "quote", "backslash", "backslash-quote", "double-quotes", "injection"],
)
def test_values_are_single_quoted_with_backslash_and_quote_escaped(
    value: str, literal: str
) -> None:
    assert visibility_literal(value) == literal
