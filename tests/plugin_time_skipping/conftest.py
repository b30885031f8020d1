"""An application's conftest for tests on the time-skipping server: its domain and tables."""

from __future__ import annotations

import pytest
from sqlalchemy import MetaData

from ember.registry import Domain, ember_metadata
from tests.plugin_time_skipping.chores import Base, chores_domain


@pytest.fixture(scope="session")
def ember_domain() -> Domain:
    """The domain the plugin's worker runs."""
    return chores_domain


@pytest.fixture(scope="session")
def ember_tables() -> list[MetaData]:
    """The application's table and Ember's."""
    return [Base.metadata, ember_metadata]
