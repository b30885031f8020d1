"""Bad input on the command line: one line naming what to fix, a non-zero exit, no hang.

Each case runs ``python worker.py`` as a user would. Servers that refuse connections
are a closed loopback port; servers that accept and never answer are a listening socket
nobody accepts from (the kernel completes the handshake, then nothing is said).
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from ember.workflows.testing.servers import LocalPostgres

ROOT = Path(__file__).resolve().parents[2]
APP = "examples.helpdesk.app:helpdesk"
CLOSED = "127.0.0.1:1"  # nothing listens on port 1
CLI_TIMEOUT = 60.0


@dataclass
class CliResult:
    code: int
    stderr: str
    seconds: float

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]

    def assert_one_line_error(self, *needles: str) -> str:
        """Exit code non-zero, exactly one stderr line ``error: ...`` holding ``needles``."""
        assert self.code != 0
        assert "Traceback" not in self.stderr, self.stderr
        assert len(self.lines) == 1, self.stderr
        (line,) = self.lines
        assert line.startswith("error: "), line
        for needle in needles:
            assert needle in line, line
        return line


async def run_cli(*args: str, **env: str) -> CliResult:
    """``python worker.py *args`` with only ``env`` as Ember settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EMBER_")}
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "worker.py"),
        *args,
        cwd=ROOT,
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, err = await asyncio.wait_for(process.communicate(), CLI_TIMEOUT)
    except TimeoutError as error:
        process.kill()
        await process.wait()
        message = f"worker.py {' '.join(args)} still running after {CLI_TIMEOUT}s"
        raise AssertionError(message) from error
    assert process.returncode is not None
    return CliResult(process.returncode, err.decode(), time.monotonic() - started)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never says a word."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield int(listener.getsockname()[1])


async def test_an_app_path_that_does_not_import_names_ember_app() -> None:
    result = await run_cli("--app", "no_such_package.app:domain", "run")
    result.assert_one_line_error("EMBER_APP", "no_such_package", "fix:")


async def test_an_app_attribute_that_is_not_a_domain_names_ember_app() -> None:
    result = await run_cli("--app", "examples.helpdesk.app:build_helpdesk", "validate")
    result.assert_one_line_error("EMBER_APP", "ember.Domain", "fix:")


async def test_run_without_a_database_url_says_so_before_connecting_anywhere() -> None:
    # The Temporal address is closed too: the database setting must be reported first.
    result = await run_cli("run", EMBER_APP=APP, EMBER_TEMPORAL_ADDRESS=CLOSED)
    result.assert_one_line_error("EMBER_DATABASE_URL", "found nothing", "fix:")


async def test_a_closed_temporal_port_names_the_address_to_fix() -> None:
    result = await run_cli(
        "--temporal-address",
        CLOSED,
        "run",
        EMBER_APP=APP,
        EMBER_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/none",
    )
    result.assert_one_line_error("EMBER_TEMPORAL_ADDRESS", CLOSED, "connection refused", "fix:")
    assert result.seconds < 20


async def test_a_temporal_server_that_never_answers_is_given_up_on_in_bounded_time(
    silent_port: int,
) -> None:
    address = f"127.0.0.1:{silent_port}"
    result = await run_cli("--temporal-address", address, "schedules", "list", EMBER_APP=APP)
    result.assert_one_line_error("EMBER_TEMPORAL_ADDRESS", address, "does not answer", "fix:")
    assert result.seconds < 30


@pytest.mark.parametrize("command", ["run", "status"])
async def test_a_closed_postgres_port_names_the_url_without_its_password(
    dev_env: WorkflowEnvironment, command: str
) -> None:
    result = await run_cli(
        command,
        EMBER_APP=APP,
        EMBER_TEMPORAL_ADDRESS=dev_env.client.service_client.config.target_host,
        EMBER_DATABASE_URL="postgresql+psycopg://ember:hunter2@127.0.0.1:1/app",
    )
    line = result.assert_one_line_error(
        "EMBER_DATABASE_URL: expected a PostgreSQL server accepting", "127.0.0.1:1/app", "fix:"
    )
    assert "hunter2" not in line and "sqlalche.me" not in line  # not a raw SQLAlchemy error


async def test_a_postgres_server_that_never_answers_is_given_up_on_in_bounded_time(
    silent_port: int,
) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{silent_port}/app"
    result = await run_cli("migrate", EMBER_APP=APP, EMBER_DATABASE_URL=url)
    result.assert_one_line_error("EMBER_DATABASE_URL", "timeout", "fix:")
    assert result.seconds < 30


async def test_debug_shows_the_traceback() -> None:
    result = await run_cli(
        "--debug", "--temporal-address", CLOSED, "schedules", "list", EMBER_APP=APP
    )
    assert result.code != 0
    assert "Traceback" in result.stderr
    assert "TemporalUnreachable" in result.stderr


async def test_a_metrics_port_already_in_use_names_ember_metrics_bind(silent_port: int) -> None:
    bind = f"127.0.0.1:{silent_port}"  # the silent listener holds the port
    result = await run_cli("--metrics-bind", bind, "schedules", "list", EMBER_APP=APP)
    result.assert_one_line_error("EMBER_METRICS_BIND", bind, "Address already in use", "fix:")


async def test_status_on_a_database_without_the_tables_says_to_create_them(
    dev_env: WorkflowEnvironment, local_postgres: LocalPostgres
) -> None:
    name = f"empty_{uuid.uuid4().hex[:12]}"
    url = await local_postgres.create_database(name)
    try:
        result = await run_cli(
            "status",
            EMBER_APP=APP,
            EMBER_TEMPORAL_ADDRESS=dev_env.client.service_client.config.target_host,
            EMBER_DATABASE_URL=url,
        )
    finally:
        await local_postgres.drop_database(name)
    line = result.assert_one_line_error(
        "EMBER_DATABASE_URL: expected the app's and Ember's tables in",
        "does not exist",
        "fix: create them (`worker.py migrate` creates Ember's)",
    )
    assert "sqlalche.me" not in line


async def test_a_temporal_address_the_sdk_cannot_parse_names_ember_temporal_address() -> None:
    result = await run_cli("--temporal-address", "[zz]:7233", "schedules", "list", EMBER_APP=APP)
    result.assert_one_line_error(
        "EMBER_TEMPORAL_ADDRESS", "[zz]:7233", "an address it cannot use", "fix:"
    )
