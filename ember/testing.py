"""Oban-style assertions for an application's tests of its triggers.

    from ember.testing import assert_triggered, assert_would_schedule

The fixtures (``ember``, ``ember_database_url``, ...) come from Ember's pytest plugin,
which ``pip install 'ember-triggers[testing]'`` registers; see README, "Use Ember in your
project".
"""

from ember.workflows.testing.assertions import (
    assert_triggered,
    assert_would_schedule,
    refute_would_schedule,
    would_schedule,
)

__all__ = ["assert_triggered", "assert_would_schedule", "refute_would_schedule", "would_schedule"]
