"""Fixtures of the fault tests: a database with the ledger tables, a log directory, the report.

The PostgreSQL cluster and the in-memory Temporal dev server are the session's
(``tests/conftest.py``); tests that stop a server start their own.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from _pytest.terminal import TerminalReporter
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ember.workflows.testing.servers import LocalPostgres
from tests.faults.report import RESULTS
from tests.faults.workload import create_fault_database


@pytest.fixture
async def fault_database(local_postgres: LocalPostgres) -> AsyncIterator[str]:
    """URL of a fresh database holding the fault app's and Ember's tables."""
    name = f"fault_{uuid.uuid4().hex[:12]}"
    url = await create_fault_database(local_postgres, name)
    yield url
    await local_postgres.drop_database(name)


@pytest.fixture
async def fault_engine(fault_database: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the test's fault database."""
    engine = create_async_engine(fault_database)
    yield engine
    await engine.dispose()


@pytest.fixture
def worker_log(tmp_path: Path) -> Path:
    """Where the test's worker processes write their output."""
    return tmp_path / "worker.log"


def pytest_terminal_summary(terminalreporter: TerminalReporter) -> None:
    """One line per fault test: records, faults, duplicates, lost, wall time."""
    if RESULTS:
        terminalreporter.section("ember fault report")
        for result in RESULTS:
            terminalreporter.write_line(result.line())
