"""How an application wires Ember's pytest plugin: which domain to run, which tables to make.

The ``ember`` plugin comes with ember-triggers (a pytest11 entry point); this conftest
only overrides the two fixtures every application must. The rest (PostgreSQL, Temporal,
a worker per test) is the plugin's. Nothing here refers to this repository's own
``tests/conftest.py``: the example reads as it would in an application.
"""

from __future__ import annotations

import pytest
from sqlalchemy import MetaData

from ember import Domain, ember_metadata
from examples.helpdesk.app import helpdesk
from examples.helpdesk.models import Base


@pytest.fixture(scope="session")
def helpdesk_domain() -> Domain:
    """The application's registry."""
    return helpdesk


@pytest.fixture(scope="session")
def ember_domain(helpdesk_domain: Domain) -> Domain:
    """The domain the plugin's worker runs."""
    return helpdesk_domain


@pytest.fixture(scope="session")
def ember_tables() -> list[MetaData]:
    """The application's tables and Ember's, made in each test's database."""
    return [Base.metadata, ember_metadata]
